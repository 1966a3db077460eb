//! Real time: the hub (fan-out of committed events) and the two WebSocket protocols,
//! the requester's (`/v1/conversations/{id}/live`) and the helper's (`/v1/helper/live`).

pub mod helper_socket;
pub mod hub;
pub mod protocol;
pub mod requester_socket;
pub mod viewers;
