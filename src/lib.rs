//! The conformance runner of flytectx: the port seam ([`port::Port`]), the
//! ports that plug into it (the model in-process, external processes), the
//! trace runner, random traces, shrinking, the golden corpus and the
//! `flytectx` command line.
//!
//! The trace language itself, its driving rules and the model live in
//! `flytectx-model`: they are part of the executable specification.

pub mod conform;
pub mod corpus;
pub mod coverage;
pub mod diff;
pub mod error;
pub mod generate;
pub mod impl_port;
pub mod junit;
pub mod port;
pub mod process;
pub mod report;
pub mod run;
pub mod shrink;
pub mod spec;
pub mod tally;
