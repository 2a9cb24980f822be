//! Signal handlers and SIGINT ([SIG-1]..[SIG-5]).

use super::{Model, ThreadId};
use crate::answer::HandlerRun;
use crate::trace::Then;
use crate::Profile;

/// The number of SIGINT.
pub const SIGINT: i32 = 2;

/// One handler of the list ([SIG-1]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Handler {
    pub(super) tag: String,
    pub(super) then: Option<Then>,
}

/// The SIGINT handler the process has ([SIG-4]). (The runtime's default
/// never shows: loading the library installs the hook, [INIT-1].)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Installed {
    /// The library's hook, which dispatches to the handler list ([SIG-2]).
    Hook,
    /// One the program installed itself, named by its tag.
    Program(String),
}

/// How a SIGINT ended ([SIG-2]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigintEnd {
    /// The process exits with this status.
    Exit(i32),
    /// A handler failed with this kind; the dispatch stopped, no exit.
    Raised(String),
    /// The program's own handler returned; the process goes on.
    Returned,
}

/// What a SIGINT did ([SIG-2]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigintOutcome {
    /// The handlers that ran, in order.
    pub ran: Vec<HandlerRun>,
    /// How it ended.
    pub end: SigintEnd,
}

impl Model {
    /// [SIG-1]: append to the one process-wide list.
    pub fn add_signal_handler(&mut self, tag: &str, then: Option<Then>) {
        self.handlers.push(Handler {
            tag: tag.to_string(),
            then,
        });
    }

    /// [SIG-4]: what `initialize()` does to the SIGINT handler. compat: on
    /// the main thread, every time, replacing the program's; ([SIG-5]: the
    /// main thread is thread 0 here, as a port tells it by identity, not by
    /// name as flytekit does.) isolated: once per process, on any thread.
    pub(super) fn install_hook_on_initialize(&mut self) {
        match self.profile {
            Profile::Compat if self.current_thread() == ThreadId(0) => {
                self.sigint_handler = Installed::Hook;
            }
            Profile::Compat => {}
            Profile::Isolated if !self.hook_installed_once => {
                self.hook_installed_once = true;
                self.sigint_handler = Installed::Hook;
            }
            Profile::Isolated => {}
        }
    }

    /// The program installs its own SIGINT handler, replacing whatever was
    /// installed ([SIG-4]).
    pub fn set_program_handler(&mut self, tag: &str) {
        self.sigint_handler = Installed::Program(tag.to_string());
    }

    /// The SIGINT handler the process has now ([SIG-4]).
    pub fn sigint_handler(&self) -> &Installed {
        &self.sigint_handler
    }

    /// [SIG-2]: SIGINT arrives. The hook calls the handlers in order, reading
    /// the list as it is at each step (so one added meanwhile runs in this
    /// pass); a failing handler stops the dispatch without an exit;
    /// otherwise the process exits with 1. A program's own handler just runs.
    pub fn sigint(&mut self) -> SigintOutcome {
        let mut ran = Vec::new();
        match self.sigint_handler.clone() {
            Installed::Program(tag) => {
                ran.push(HandlerRun::program(&tag, SIGINT));
                return SigintOutcome {
                    ran,
                    end: SigintEnd::Returned,
                };
            }
            Installed::Hook => {}
        }
        let mut i = 0;
        while let Some(h) = self.handlers.get(i).cloned() {
            ran.push(HandlerRun::handler(&h.tag, SIGINT));
            match h.then {
                Some(Then::Raise(kind)) => {
                    return SigintOutcome {
                        ran,
                        end: SigintEnd::Raised(kind),
                    }
                }
                Some(Then::Add(tag)) => self.add_signal_handler(&tag, None),
                None => {}
            }
            i += 1;
        }
        SigintOutcome {
            ran,
            end: SigintEnd::Exit(1),
        }
    }
}
