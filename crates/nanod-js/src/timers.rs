//! Timers on the thread's tokio timer wheel.
//!
//! A timer parks `[callback, ...args]` in its isolate and spawns a task that holds only the
//! timer's id; clearing a timer aborts that task and unparks the values. Callbacks run through
//! [`Isolate::enter`], so microtasks they queue run before the next timer, as in browsers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use rquickjs::{Array, Ctx, Function, JsLifetime, Value};
use tokio::task::AbortHandle;

use crate::{Isolate, JsException};

/// Per-isolate table of live timers, kept in runtime userdata.
#[derive(Default, JsLifetime)]
pub struct TimerTable {
    next_id: std::cell::Cell<u32>,
    live: RefCell<HashMap<u32, LiveTimer>>,
}

struct LiveTimer {
    parked: u32,
    task: AbortHandle,
}

/// Longest delay honoured, as browsers clamp to a signed 32-bit millisecond count.
const MAX_DELAY_MS: f64 = 2_147_483_647.0;

/// Converts a JS delay argument (any number, NaN, negative) to a duration.
pub fn delay_from_ms(ms: f64) -> Duration {
    if ms.is_nan() || ms <= 0.0 {
        Duration::ZERO
    } else {
        Duration::from_micros((ms.min(MAX_DELAY_MS) * 1000.0) as u64)
    }
}

/// Starts a timer; returns its id (never 0).
pub fn set_timer<'js>(
    ctx: &Ctx<'js>,
    callback: Function<'js>,
    delay: Duration,
    args: Vec<Value<'js>>,
    repeat: bool,
) -> rquickjs::Result<u32> {
    let isolate = Isolate::from_ctx(ctx).ok_or(rquickjs::Error::Unknown)?;
    if ctx.userdata::<TimerTable>().is_none() {
        ctx.store_userdata(TimerTable::default()).map_err(|_| rquickjs::Error::Unknown)?;
    }
    let table = ctx.userdata::<TimerTable>().ok_or(rquickjs::Error::Unknown)?;
    let id = table.next_id.get().wrapping_add(1).max(1);
    table.next_id.set(id);

    let saved = Array::new(ctx.clone())?;
    saved.set(0, callback)?;
    for (i, arg) in args.into_iter().enumerate() {
        saved.set(i + 1, arg)?;
    }
    let parked = isolate.park(ctx, saved.into_value());
    let weak = isolate.downgrade();
    // A live timer can settle promises later: the isolate is not quiescent while it lives.
    let mut op = Some(isolate.begin_op());
    let request = crate::isolate::current_request();
    let task = tokio::task::spawn_local(async move {
        let mut next = tokio::time::Instant::now() + delay;
        loop {
            tokio::time::sleep_until(next).await;
            if !repeat {
                // A one-shot timer is over once its callback starts.
                drop(op.take());
            }
            let Some(isolate) = weak.upgrade() else { return };
            let keep_going = isolate.enter_for(request, |ctx| fire(&isolate, &ctx, id, parked, repeat));
            if !keep_going {
                return;
            }
            // An interval never spins: at least 1 ms between runs.
            next = tokio::time::Instant::now() + delay.max(Duration::from_millis(1));
        }
    });
    table.live.borrow_mut().insert(id, LiveTimer { parked, task: task.abort_handle() });
    Ok(id)
}

/// Cancels a timer; unknown ids are ignored, as in browsers.
pub fn clear_timer(ctx: &Ctx<'_>, id: u32) {
    let removed = ctx.userdata::<TimerTable>().and_then(|table| table.live.borrow_mut().remove(&id));
    if let (Some(timer), Some(isolate)) = (removed, Isolate::from_ctx(ctx)) {
        timer.task.abort();
        isolate.unpark(ctx, timer.parked);
    }
}

/// Runs one timer's callback. Returns whether an interval should keep going.
fn fire<'js>(isolate: &Isolate, ctx: &Ctx<'js>, id: u32, parked: u32, repeat: bool) -> bool {
    let still_live = ctx.userdata::<TimerTable>().is_some_and(|t| t.live.borrow().contains_key(&id));
    if !still_live {
        return false;
    }
    if !repeat {
        if let Some(table) = ctx.userdata::<TimerTable>() {
            table.live.borrow_mut().remove(&id);
        }
    }
    let saved = if repeat { isolate.peek(ctx, parked) } else { isolate.unpark(ctx, parked) };
    let Some(saved) = saved.and_then(|v| v.into_array()) else { return false };
    let mut values: Vec<Value<'js>> = saved.iter::<Value>().filter_map(Result::ok).collect();
    if values.is_empty() {
        return false;
    }
    let callback = values.remove(0);
    if let Some(callback) = callback.into_function() {
        let mut args = rquickjs::function::Args::new(ctx.clone(), values.len());
        let pushed = values.into_iter().try_for_each(|v| args.push_arg(v));
        let called = pushed.and_then(|()| callback.call_arg::<()>(args));
        if called.is_err() {
            let exception = JsException::from_value(ctx, ctx.catch());
            let service = isolate.name();
            let request_id = crate::isolate::current_request().map(tracing::field::display);
            tracing::error!(service, request_id, "{service}: Uncaught {exception}");
        }
    }
    repeat
}
