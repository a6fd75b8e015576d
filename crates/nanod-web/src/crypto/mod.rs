//! Placeholder: being written.
use rquickjs::{Ctx, Value};
pub fn install_crypto<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> { Ok(Value::new_undefined(ctx.clone())) }
pub fn install_crypto_key<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> { Ok(Value::new_undefined(ctx.clone())) }
pub fn install_subtle_crypto<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> { Ok(Value::new_undefined(ctx.clone())) }
