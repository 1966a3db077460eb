//! Rate limits per requester network (keyed hash of the address, never the address)
//! and per requester token. Over the limit: `429` with `Retry-After`.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Limits;
use crate::error::AppError;

pub struct RateLimits {
    requests_per_network: DefaultKeyedRateLimiter<String>,
    conversations_per_network: DefaultKeyedRateLimiter<String>,
    messages_per_token: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

fn quota(per: Duration, count: u32) -> Quota {
    let count = NonZeroU32::new(count.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(per / count.get()).unwrap_or_else(|| Quota::per_second(count)).allow_burst(count)
}

impl RateLimits {
    pub fn new(limits: &Limits) -> Self {
        Self {
            requests_per_network: RateLimiter::keyed(quota(
                Duration::from_secs(60),
                limits.requests_per_minute_per_network,
            )),
            conversations_per_network: RateLimiter::keyed(quota(
                Duration::from_secs(3600),
                limits.conversations_per_hour_per_network,
            )),
            messages_per_token: RateLimiter::keyed(quota(
                Duration::from_secs(60),
                limits.messages_per_minute_per_token,
            )),
            clock: DefaultClock::default(),
        }
    }

    fn check(&self, limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), AppError> {
        limiter.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            AppError::RateLimited { retry_after_secs: secs.max(1) }
        })
    }

    pub fn request(&self, network: &str) -> Result<(), AppError> {
        self.check(&self.requests_per_network, network)
    }

    pub fn new_conversation(&self, network: &str) -> Result<(), AppError> {
        self.check(&self.conversations_per_network, network)
    }

    pub fn message(&self, token_hash: &str) -> Result<(), AppError> {
        self.check(&self.messages_per_token, token_hash)
    }

    /// Forgets keys that are back under their limits, so memory stays bounded.
    pub fn forget_idle(&self) {
        for limiter in [&self.requests_per_network, &self.conversations_per_network, &self.messages_per_token]
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}
