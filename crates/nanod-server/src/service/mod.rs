//! Services: what a socket or a binding can send requests to. Only Worker services run here so
//! far; the other kinds answer with an error naming what is missing (see `prepare`).

pub mod check;
pub mod worker;
