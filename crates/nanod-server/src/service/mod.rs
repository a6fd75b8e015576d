//! Services: what a socket or a binding can send requests to: Worker, disk, network and
//! external (HTTP/HTTPS) services; `tcp` external services answer with an error naming what
//! is missing (see `prepare`).

pub mod check;
pub mod disk;
pub mod external;
pub mod network;
pub mod worker;
