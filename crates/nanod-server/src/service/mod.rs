//! Services: what a socket or a binding can send requests to. Worker, disk and network (plain
//! HTTP) services run here so far; the other kinds answer with an error naming what is missing
//! (see `prepare`).

pub mod check;
pub mod disk;
pub mod network;
pub mod worker;
