//! The stack operations of `FlyteContextManager` ([INIT-*], [PUSH-*],
//! [POP-*], [WITH-*]), written once over a [`StackHost`]: the explicit
//! [`crate::ContextManager`] and the thread-local facade are two hosts.
//!
//! Scopes and out-of-order exits: a scope records the stack size right after
//! its push (the mark) and, on exit, pops while the size is at least the mark
//! ([WITH-2]). So if scopes are left out of order (guards of the facade may be
//! dropped in any order, as opentelemetry's context guards may), leaving an
//! outer scope first pops the inner one's context too, and the inner scope's
//! later exit finds the stack below its mark and pops nothing ([WITH-3]):
//! exactly what flytekit does when a body pops below its scope. A scope is
//! left only on the stack that entered it: its token names that stack.

use crate::arena::{Arena, CtxHandle, Freed, NewContext};
use crate::context::{Builder, Context, ContextRef};
use crate::data::{EsData, Flag, LocalFileAccess, LocalUserSpaceParams, Opaque, Shared, Slots};
use crate::error::Error;
use crate::heap::{self, NoRoom, StackId};
use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

/// Where a stack lives: lets each algorithm below be written once.
pub(crate) trait StackHost {
    /// Which stack of the thread this is.
    fn id(&self) -> StackId;
    /// Run `f` on the arena and the stack, under one access to the heap. It
    /// must drop no context: a freed one is handed out, to be dropped after
    /// the access.
    fn with_stack<R>(&mut self, f: impl FnOnce(&mut Arena, &mut Vec<u32>) -> R) -> R;
    /// Give the stack room for more entries, outside any heap access (an
    /// access never allocates: see `heap::heap_mut`).
    fn make_room(&mut self);
    /// Told the new top after each change, by the algorithm that knows it
    /// best (the thread's stack mirrors it, [CUR-1]).
    #[inline]
    fn top_is(&self, _top: Option<CtxHandle>) {}
    /// The top's handle, where the host keeps it beside the stack (the
    /// thread's stack does, [CUR-1]): the popped entry's handle then needs
    /// no lookup in the arena. It must be exact: `current_context` returns
    /// the same mirror.
    #[inline]
    fn mirrored_top(&self) -> Option<CtxHandle> {
        None
    }
}

/// [`NoRoom::Stack`] unless `stack` can take one more entry without
/// allocating.
#[inline(always)]
fn room_for_one(stack: &Vec<u32>) -> Result<(), NoRoom> {
    if stack.len() < stack.capacity() {
        Ok(())
    } else {
        Err(NoRoom::Stack)
    }
}

/// Run `access`, one heap access, until it finds the room it needs: each
/// time it does not, make that room outside any access and try again (at
/// most twice: the stack's and the arena's). None while the thread is torn
/// down.
#[inline(always)]
fn with_room<H: StackHost, R>(
    host: &mut H,
    mut access: impl FnMut(&mut H) -> Result<R, NoRoom>,
) -> Option<R> {
    for _ in 0..3 {
        match access(host) {
            Ok(r) => return Some(r),
            Err(NoRoom::TornDown) => return None,
            Err(missing) => make_room(host, missing),
        }
    }
    heap::room_not_made()
}

#[cold]
#[inline(never)]
fn make_room(host: &mut impl StackHost, missing: NoRoom) {
    match missing {
        NoRoom::Arena => heap::make_room_in_arena(),
        NoRoom::Stack => host.make_room(),
        NoRoom::TornDown => {}
    }
}

/// The handle of the top entry.
#[inline]
fn top(arena: &Arena, stack: &[u32]) -> Option<CtxHandle> {
    arena.handle_at(*stack.last()?)
}

/// [INIT-3], [INIT-4]: a new root with its new execution state.
fn new_root(file_access: Opaque, origin: &'static Location<'static>) -> NewContext {
    let sandbox = file_access
        .downcast_ref::<LocalFileAccess>()
        .map(|l| l.local_sandbox_dir.to_string_lossy().into_owned())
        .unwrap_or_default();
    let es = EsData {
        mode: None,
        engine_dir: Rc::from(format!("{sandbox}/engine_dir")),
        working_dir: Rc::from(sandbox),
        branch_eval_mode: Cell::new(None),
        user_space_params: Some(Rc::new(LocalUserSpaceParams)),
    };
    NewContext {
        level: 1,
        shared: Some(Rc::new(Shared {
            execution_state: Some(Rc::new(es)),
            compilation_state: None,
            slots: Slots {
                file_access: Some(file_access),
                ..Slots::default()
            },
        })),
        // [ORIG-3]
        origin: Some(origin),
        in_a_condition: Flag::new(false),
    }
}

/// [ORIG-3]: the origin of a root the library makes on its own (a lazy
/// initialization, a new manager's first root): this location, inside the
/// library. Only an explicit `initialize()` records its caller.
pub(crate) fn library_origin() -> &'static Location<'static> {
    Location::caller()
}

/// [INIT-2]: a new stack holding only a new root. The entries of the old
/// stack are released one by one, outside the heap access.
pub(crate) fn initialize_on(host: &mut impl StackHost, origin: &'static Location<'static>) {
    let Some(file_access) = heap::default_file_access() else {
        return;
    };
    let mut root = new_root(file_access, origin);
    let mut fresh = Vec::with_capacity(4);
    let made = with_room(host, |host| {
        host.with_stack(|arena, stack| {
            let root = heap::insert(arena, &mut root)?;
            let mut entries = std::mem::take(&mut fresh);
            entries.push(root.index());
            Ok((std::mem::replace(stack, entries), root))
        })
    });
    let Some((old, root)) = made else {
        return;
    };
    host.top_is(Some(root));
    for index in old {
        heap::release_at(index);
    }
    // [SIG-4] (isolated): the first initialize in the process installs the hook.
    crate::signals::install_hook();
}

/// [PUSH-1]..[PUSH-3]
#[inline]
pub(crate) fn push_on(
    host: &mut impl StackHost,
    ctx: ContextRef,
    origin: &'static Location<'static>,
) -> Result<ContextRef, Error> {
    // At most one growth is needed.
    for _ in 0..2 {
        let pushed = host.with_stack(|arena, stack| {
            if room_for_one(stack).is_err() {
                return Ok(false);
            }
            // [ORIG-1]: the origin belongs to the object; the last push wins.
            match arena.retain(ctx.h) {
                Some(slot) => slot.origin = Some(origin),
                None => return Err(arena.missing()),
            }
            stack.push(ctx.h.index());
            Ok(true)
        })?;
        if pushed {
            host.top_is(Some(ctx.h));
            return Ok(ctx);
        }
        make_room(host, NoRoom::Stack);
    }
    heap::room_not_made()
}

/// [POP-1]..[POP-3]: the stack's ownership of the entry moves to the result.
#[inline]
pub(crate) fn pop_on(host: &mut impl StackHost) -> Result<Context, PopError> {
    let mirrored = host.mirrored_top();
    let popped = host.with_stack(|arena, stack| match stack.pop() {
        Some(index) => Ok((
            mirrored.or_else(|| arena.handle_at(index)),
            top(arena, stack),
        )),
        None => Err(empty(arena)),
    });
    let (Some(h), new_top) = popped? else {
        // An entry always names a live context.
        return Err(PopError::Empty);
    };
    host.top_is(new_top);
    let popped = Context::owning(h);
    match new_top {
        Some(_) => Ok(popped),
        // [POP-2] (quirk): removed, then reported as a failure.
        None => Err(PopError::PoppedRoot(popped)),
    }
}

/// [POP-3]: the error of popping an empty stack (or the torn-down heap's).
#[cold]
fn empty(arena: &Arena) -> PopError {
    if arena.is_torn_down() {
        PopError::ThreadExiting
    } else {
        PopError::Empty
    }
}

/// [WITH-1]: build, push, mark. The builder's data goes straight into the
/// arena; the new context's one owner is its stack entry. None while the
/// thread is torn down.
#[inline(always)]
pub(crate) fn enter_on(
    host: &mut impl StackHost,
    builder: Builder,
    origin: &'static Location<'static>,
) -> Option<ScopeToken> {
    // [WITH-6], [ORIG-2]
    let mut new = builder.into_new(Some(origin));
    // The usual case: room on the stack and a free slot.
    let entered = host.with_stack(|arena, stack| {
        room_for_one(stack).ok()?;
        let h = arena.insert_free(&mut new)?;
        stack.push(h.index());
        Some((h, stack.len()))
    });
    let (h, mark) = match entered {
        Some(entered) => entered,
        None => enter_growing(host, new)?,
    };
    host.top_is(Some(h));
    Some(ScopeToken {
        stack: host.id(),
        mark,
        ctx: ContextRef::new(h),
    })
}

/// [`enter_on`] when the stack or the arena must grow first. `new` comes by
/// value, so that on the usual path it never leaves the registers for a
/// call's sake.
#[cold]
#[inline(never)]
fn enter_growing(host: &mut impl StackHost, mut new: NewContext) -> Option<(CtxHandle, usize)> {
    with_room(host, |host| {
        host.with_stack(|arena, stack| {
            room_for_one(stack)?;
            let h = heap::insert(arena, &mut new)?;
            stack.push(h.index());
            Ok((h, stack.len()))
        })
    })
}

/// How one access's worth of a scope's cleanup ended.
enum Cleanup {
    /// The stack is below the mark: done.
    Done,
    /// A context was freed and must be dropped outside the access; then go on.
    Again,
    /// Popped the last entry ([POP-2]): the cleanup fails with it.
    PoppedRoot(Option<CtxHandle>),
}

/// [WITH-2]..[WITH-5]: leave a scope: pop while the size is at least its
/// mark. A token of another stack changes nothing and comes back in the
/// error.
#[inline(always)]
pub(crate) fn exit_on(host: &mut impl StackHost, token: ScopeToken) -> Result<(), PopError> {
    if token.stack != host.id() {
        return Err(foreign(token));
    }
    leave_on(host, token.mark)
}

#[cold]
fn foreign(token: ScopeToken) -> PopError {
    PopError::ForeignScope(Box::new(token))
}

/// [`exit_on`] on this host's own scope entered at `mark`.
///
/// The usual case is done here, in one access to the heap: the scope's own
/// entry is the top and not the last one (the body left the stack as it
/// found it), so one pop leaves the stack below the mark. Everything else
/// takes [`leave_in_general`].
#[inline(always)]
pub(crate) fn leave_on(host: &mut impl StackHost, mark: usize) -> Result<(), PopError> {
    let done = host.with_stack(|arena, stack| {
        if stack.len() != mark || mark < 2 {
            return None;
        }
        let freed = arena.release_at(stack.pop()?);
        Some((freed, top(arena, stack)))
    });
    match done {
        Some((freed, new_top)) => {
            host.top_is(new_top);
            drop(freed);
            Ok(())
        }
        None => leave_in_general(host, mark),
    }
}

/// [`leave_on`] in every case. Usually one access to the heap does it all;
/// it is left early only to drop a freed context, which might run user
/// code.
#[cold]
#[inline(never)]
fn leave_in_general(host: &mut impl StackHost, mark: usize) -> Result<(), PopError> {
    loop {
        let (freed, step, new_top) = host.with_stack(|arena, stack| {
            if arena.is_torn_down() {
                return Err(PopError::ThreadExiting);
            }
            // [WITH-3], [WITH-5]: whatever the stack is now, below the mark
            // nothing is popped.
            let (freed, step) = pop_to_mark(arena, stack, mark);
            Ok((freed, step, top(arena, stack)))
        })?;
        host.top_is(new_top);
        drop(freed);
        match step {
            Cleanup::Done => return Ok(()),
            Cleanup::Again => {}
            // [WITH-4]: a failing pop ends the cleanup.
            Cleanup::PoppedRoot(Some(h)) => return Err(PopError::PoppedRoot(Context::owning(h))),
            // An entry always names a live context; were it not so, there
            // would be nothing to hand back.
            Cleanup::PoppedRoot(None) => return Err(PopError::Empty),
        }
    }
}

/// One access's worth of [`exit_on`]: pop down to the mark, stopping early
/// when an entry's context is freed (handed out, to drop) or the last entry
/// goes.
#[inline]
fn pop_to_mark(arena: &mut Arena, stack: &mut Vec<u32>, mark: usize) -> (Freed, Cleanup) {
    while stack.len() >= mark {
        let Some(index) = stack.pop() else { break };
        if stack.is_empty() {
            return (None, Cleanup::PoppedRoot(arena.handle_at(index)));
        }
        if let Some(freed) = arena.release_at(index) {
            let step = if stack.len() >= mark {
                Cleanup::Again
            } else {
                Cleanup::Done
            };
            return (Some(freed), step);
        }
    }
    (None, Cleanup::Done)
}

/// [WITH-4]: the cleanup's error, else the body's.
#[inline]
pub(crate) fn finish<T, E>(
    cleanup: Result<(), PopError>,
    body: Result<T, E>,
) -> Result<T, ScopeError<E>> {
    match (cleanup, body) {
        (Err(e), _) => Err(ScopeError::Cleanup(e)),
        (Ok(()), Err(e)) => Err(ScopeError::Body(e)),
        (Ok(()), Ok(v)) => Ok(v),
    }
}

/// A scope entered but not yet left: its stack, its mark and its context.
/// Give it back to the stack it came from to leave the scope.
#[must_use = "a scope is left by giving its token back to exit_scope"]
#[derive(Debug, PartialEq, Eq)]
pub struct ScopeToken {
    stack: StackId,
    mark: usize,
    ctx: ContextRef,
}

impl ScopeToken {
    /// The context the scope pushed.
    pub fn context(&self) -> ContextRef {
        self.ctx
    }
    /// The stack size recorded right after the push ([WITH-1]).
    pub fn mark(&self) -> usize {
        self.mark
    }
}

/// Why `pop_context` or a scope's exit failed ([POP-2], [POP-3]).
#[derive(Debug)]
pub enum PopError {
    /// [POP-2]: the last entry was removed (the stack is now empty), and here
    /// it is.
    PoppedRoot(Context),
    /// [POP-3]: the stack was already empty; nothing changed.
    Empty,
    /// The thread's context heap has been torn down.
    ThreadExiting,
    /// The scope was entered on another stack: nothing changed, and here is
    /// its token, to leave it on its own stack. (Boxed: a misuse may
    /// allocate, and the error of every pop stays two words.)
    ForeignScope(Box<ScopeToken>),
}

impl PartialEq for PopError {
    fn eq(&self, other: &PopError) -> bool {
        match (self, other) {
            (PopError::PoppedRoot(a), PopError::PoppedRoot(b)) => a == b,
            (PopError::ForeignScope(a), PopError::ForeignScope(b)) => a == b,
            (PopError::Empty, PopError::Empty)
            | (PopError::ThreadExiting, PopError::ThreadExiting) => true,
            _ => false,
        }
    }
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PopError::PoppedRoot(_) => "popped the last context: the stack is now empty",
            PopError::Empty => "pop from an empty context stack",
            PopError::ThreadExiting => "the thread's context heap has been torn down",
            PopError::ForeignScope(_) => "the scope was entered on another stack",
        })
    }
}

impl std::error::Error for PopError {}

/// How a `with_context` scope ended badly ([WITH-4]).
#[derive(Debug, PartialEq)]
pub enum ScopeError<E> {
    /// The body failed and the cleanup went well: the body's error.
    Body(E),
    /// The cleanup failed (it popped the last entry); this replaces any
    /// error of the body, as in flytekit.
    Cleanup(PopError),
}

impl<E: fmt::Display> fmt::Display for ScopeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeError::Body(e) => write!(f, "{e}"),
            ScopeError::Cleanup(e) => write!(f, "leaving the scope: {e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ScopeError<E> {}
