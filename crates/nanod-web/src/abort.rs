//! Placeholder: being written.
use rquickjs::{Ctx, Value};
pub fn install_abort_controller<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> { Ok(Value::new_undefined(ctx.clone())) }
pub fn install_abort_signal<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> { Ok(Value::new_undefined(ctx.clone())) }
