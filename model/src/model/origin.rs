//! Origins ([ORIG-1]..[ORIG-4]): where in the program a context was pushed or
//! a root made, in terms every port can give ([OBS-7]).

use super::Model;
use std::panic::Location;

/// Where in the program something happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A location in Rust code, for the model's Rust API (`#[track_caller]`).
    At(&'static Location<'static>),
    /// The code of operation `n` of a trace, counted as [OBS-7] says.
    Op(u32),
    /// A location inside the library: where it initializes on its own
    /// ([ORIG-3]), or `get_origin_stackframe`'s own frame ([ORIG-4]).
    Library,
    /// A location in neither the program's code nor the library: the
    /// runtime's start-up code, or a port's driver ([ORIG-4]).
    Outside,
}

impl Origin {
    /// The location of the caller of the `#[track_caller]` function calling this.
    #[track_caller]
    pub fn caller() -> Origin {
        Origin::At(Location::caller())
    }
}

impl Model {
    /// [ORIG-4]: what `get_origin_stackframe(limit)` returns when `caller`
    /// calls it: limit 0 is its own frame, in the library; 1 its caller; a
    /// larger limit goes past the caller to the code that called it, which
    /// for a trace operation is the port's driver or a thread's start-up:
    /// outside.
    pub fn origin_frame(&self, limit: u32, caller: Origin) -> Origin {
        match limit {
            0 => Origin::Library,
            1 => caller,
            _ => Origin::Outside,
        }
    }

    /// [ORIG-4] with limit 1, the caller's location: in Rust,
    /// `#[track_caller]` gives the caller and nothing further out.
    #[track_caller]
    pub fn get_origin_stackframe(&self) -> Origin {
        self.origin_frame(1, Origin::caller())
    }
}
