//! The trace language (spec.md section 13): its operations (`ops`), how a
//! line is decoded (`decode`), and trace files with the structural rules a
//! whole trace obeys (`file`).

mod decode;
mod file;
mod ops;

pub use decode::{char_column, decode_op_line, DecodeError, MAX_ORIGIN_LIMIT};
pub use file::{
    check_structure, decode_header, features_of, parse_trace, Header, TraceFile, TRACE_VERSION,
};
pub use ops::{Bracket, Branch, DirName, Mode, Op, Slot, Step, Then};
