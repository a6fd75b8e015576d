//! Placeholder: being written.
use rquickjs::{Ctx, Value};
pub fn install_event<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> { Ok(Value::new_undefined(ctx.clone())) }
pub fn install_custom_event<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> { Ok(Value::new_undefined(ctx.clone())) }
