//! Placeholder: being written.
use rquickjs::{Ctx, Value};
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> { Ok(Value::new_undefined(ctx.clone())) }
