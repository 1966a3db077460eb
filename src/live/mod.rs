//! Real time, the edge: the two WebSocket protocols, the requester's
//! (`/v1/conversations/{id}/live`) and the helper's (`/v1/helper/live`), on one shared
//! loop (`protocol`). Events come from the hub, after their commit.

mod helper_frames;
pub mod helper_socket;
pub mod protocol;
pub mod requester_socket;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(requester_socket::live)).routes(routes!(helper_socket::live))
}
