//! The proof of work on new requests (see `crate::proof_of_work`): challenges, the
//! check on creation, and the watch that asks for it while many requests wait.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::error::{AppError, AppResult};
use crate::hub::QueueEventKind;
use crate::proof_of_work::{self, Challenge, Refusal};
use crate::state::AppState;
use crate::store::challenges;

fn now_secs(state: &AppState) -> i64 {
    state.now_ms().div_euclid(1000)
}

/// A fresh challenge, whether or not one is asked for now (a client may solve ahead).
pub fn challenge(state: &AppState) -> Challenge {
    let config = &state.config.proof_of_work;
    let expires_secs = i64::try_from(config.expires_seconds).unwrap_or(i64::MAX / 2);
    proof_of_work::challenge(
        state.secrets.proof_of_work_key(),
        config.max_number,
        now_secs(state).saturating_add(expires_secs),
    )
}

/// While a proof of work is asked for: the request's solution must hold and not have
/// been used before (on any node). Otherwise nothing is checked.
pub(super) async fn demand(state: &AppState, payload: Option<&str>) -> AppResult<()> {
    if !state.proof_of_work.required() {
        return Ok(());
    }
    let Some(payload) = payload.filter(|p| !p.trim().is_empty()) else {
        return Err(AppError::bad_request(
            "proof_of_work_required",
            "Many requests are waiting: solve a challenge from GET /v1/challenge and send it as proof_of_work.",
        ));
    };
    let solved = proof_of_work::verify(state.secrets.proof_of_work_key(), payload, now_secs(state)).map_err(
        |refusal| {
            let why = match refusal {
                Refusal::Malformed => "is not a proof of work of this server's format",
                Refusal::Wrong => "does not solve a challenge of this server",
                Refusal::Expired => "solves a challenge that has expired",
            };
            AppError::bad_request(
                "proof_of_work_invalid",
                format!("The proof of work {why}; solve a new one."),
            )
        },
    )?;
    let mut conn = state.store.write.acquire().await?;
    if !challenges::spend(&mut conn, &solved.challenge, solved.expires_at).await? {
        return Err(AppError::bad_request(
            "proof_of_work_invalid",
            "The proof of work was used before; solve a new one.",
        ));
    }
    Ok(())
}

/// Recounts the waiting requests soon after a new one arrives (at most twice a second)
/// and every few seconds, and switches the proof of work on and off by that count. Every
/// node counts in the shared store, so all nodes agree. The node running the background
/// jobs also forgets spent challenges once expired.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    const CHECK_EVERY: Duration = Duration::from_millis(500);
    const RECOUNT_AT_LEAST_EVERY: Duration = Duration::from_secs(5);
    const FORGET_EVERY: Duration = Duration::from_secs(600);
    let mut events = state.hub.subscribe_queues();
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = true;
    let mut counted = tokio::time::Instant::now();
    let mut forgot = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            event = events.recv() => {
                match event {
                    Ok(e) if e.kind == QueueEventKind::New => dirty = true,
                    Err(RecvError::Lagged(_)) => dirty = true,
                    Ok(_) => {}
                    Err(RecvError::Closed) => return,
                }
                continue;
            }
            () = shutdown.cancelled() => return,
        }
        if dirty || counted.elapsed() >= RECOUNT_AT_LEAST_EVERY {
            dirty = false;
            counted = tokio::time::Instant::now();
            match super::service::waiting_now(&state).await {
                Ok(waiting) => {
                    if let Some(on) = state.proof_of_work.observe_waiting(waiting) {
                        tracing::info!(waiting, on, "proof of work on new requests switched");
                    }
                }
                Err(error) => tracing::warn!(%error, "counting waiting requests failed; will retry"),
            }
        }
        if forgot.elapsed() >= FORGET_EVERY && state.leadership.leads() {
            forgot = tokio::time::Instant::now();
            if let Err(error) = forget_expired(&state).await {
                tracing::warn!(%error, "forgetting spent challenges failed; will retry");
            }
        }
    }
}

async fn forget_expired(state: &AppState) -> sqlx::Result<u64> {
    let mut conn = state.store.write.acquire().await?;
    challenges::forget_expired(&mut conn, now_secs(state)).await
}
