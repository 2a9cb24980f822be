//! `FlyteContext` and its `Builder` (spec sections 5 to 7): making contexts,
//! the builder's setters, and conditional sections.

use super::{
    Builder, Context, ContextFields, CsId, CtxId, EsId, Failure, Model, OpaqueId, RANDOM_DIR,
    SANDBOX_DIR,
};
use crate::trace::{Branch, Slot};

impl Model {
    /// [CTX-2]: `FlyteContext(file_access=f)`.
    pub fn new_context(&mut self, file_access: Option<OpaqueId>) -> CtxId {
        let mut slots = [None; 5];
        slots[Slot::FileAccess as usize] = file_access;
        let fields = ContextFields {
            level: 0,
            in_a_condition: false,
            compilation_state: None,
            execution_state: None,
            slots,
        };
        self.add_context(fields)
    }

    fn add_context(&mut self, fields: ContextFields) -> CtxId {
        let thread = self.current_thread();
        // [CTX-4]: a new object, the same as no other ([CTX-5]: identity,
        // not flytekit's field-by-field `==`); [ORIG-1]: no origin until pushed.
        self.contexts.push(Context {
            fields,
            origin: None,
            thread,
        });
        CtxId(self.contexts.len() - 1)
    }

    /// [BLD-1]: level, condition flag and the same objects; not the origin.
    pub fn new_builder(&self, ctx: CtxId) -> Builder {
        self.context(ctx).fields
    }

    /// [BLD-2]: a new context, one level up.
    pub fn build(&mut self, builder: &Builder) -> CtxId {
        let fields = ContextFields {
            level: builder.level + 1,
            ..*builder
        };
        self.add_context(fields)
    }

    /// [BLD-3] ([BLD-8]: setting the field directly is the same.)
    pub fn with_execution_state(builder: &mut Builder, es: Option<EsId>) {
        builder.execution_state = es;
    }
    /// [BLD-3]
    pub fn with_compilation_state(builder: &mut Builder, cs: Option<CsId>) {
        builder.compilation_state = cs;
    }
    /// [BLD-3]: `with_file_access`, `with_client`, … by slot.
    pub fn with_slot(builder: &mut Builder, slot: Slot, value: Option<OpaqueId>) {
        builder.slots[slot as usize] = value;
    }

    /// [BLD-4]: the builder's own `with_new_compilation_state` (no resolver).
    pub fn with_new_compilation_state(&mut self, builder: &mut Builder) {
        let cs = self.new_compilation_state("", 1, None);
        builder.compilation_state = Some(cs);
    }

    /// [BLD-5]: the context's `with_new_compilation_state`: its builder,
    /// holding [CS-6]'s new state, which has the default task resolver.
    pub fn ctx_with_new_compilation_state(&mut self, ctx: CtxId) -> Builder {
        let cs = self.ctx_new_compilation_state(ctx, "");
        let mut builder = self.new_builder(ctx);
        builder.compilation_state = Some(cs);
        builder
    }

    /// [COND-1]..[COND-8]. The copies of [COND-3] and [COND-4] can fail
    /// ([ES-2]), leaving the builder as [COND-8] says.
    pub fn enter_conditional_section(&mut self, builder: &mut Builder) -> Result<(), Failure> {
        if let Some(cs) = builder.compilation_state {
            // [COND-1]: same prefix, fresh node list.
            let prefix = self.compilation_state(cs).prefix.clone();
            builder.compilation_state =
                Some(self.cs_with_params(cs, Some(&prefix), None, None, None));
        }
        if let Some(es) = builder.execution_state {
            let state = self.execution_state(es);
            // [COND-2]: only local modes are replaced, as the release counts
            // them ([REL-3]); [COND-6]: others kept.
            if state.mode.is_some_and(|m| self.release.is_local(m)) {
                // [COND-8]: a failing copy leaves with the error, after
                // [COND-1] and before anything below.
                if !builder.in_a_condition {
                    // [COND-3]
                    builder.execution_state = Some(self.es_with_params(
                        es,
                        None,
                        None,
                        None,
                        Some(Branch::Skipped),
                        None,
                    )?);
                } else if state.branch_eval_mode == Some(Branch::Skipped) {
                    // [COND-4]
                    builder.execution_state =
                        Some(self.es_with_params(es, None, None, None, None, None)?);
                }
                // [COND-5] (quirk): otherwise the same object is kept.
            }
        }
        // [COND-7]
        builder.in_a_condition = true;
        Ok(())
    }

    /// [BLD-6]: the builder's `new_execution_state(working_dir)`: a new
    /// state with nothing of the builder's but, when no working directory
    /// is given, its file access's sandbox; the builder is left as it was.
    pub fn builder_new_execution_state(
        &mut self,
        builder: &Builder,
        working_dir: Option<&str>,
    ) -> Result<EsId, Failure> {
        let working_dir = match working_dir {
            Some(w) if !w.is_empty() => w.to_string(),
            // A new random directory in the sandbox ([OBS-6] names it), which
            // only a file-access provider has ([ES-8]); before 0.22 its name
            // ends with `/` ([REL-3]).
            _ => match builder.slot(Slot::FileAccess) {
                Some(OpaqueId::DefaultFileAccess) => {
                    let slash = if self.release.random_dirs_end_with_slash() {
                        "/"
                    } else {
                        ""
                    };
                    format!("{SANDBOX_DIR}/{RANDOM_DIR}{slash}")
                }
                _ => return Err(Failure::NoSandboxDir),
            },
        };
        self.new_execution_state(&working_dir, None, None, None, None)
    }

    /// [BLD-7]: the builder's `new_compilation_state(prefix)`: [CS-1]'s
    /// state with that prefix; the builder is left as it was.
    pub fn builder_new_compilation_state(&mut self, prefix: &str) -> CsId {
        self.new_compilation_state(prefix, 1, None)
    }

    /// [CTX-3]
    pub fn user_space_params(&self, ctx: CtxId) -> Option<OpaqueId> {
        self.context(ctx)
            .fields
            .execution_state
            .and_then(|es| self.execution_state(es).user_space_params)
    }
}
