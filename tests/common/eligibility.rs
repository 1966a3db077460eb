//! What the wiki tests ask of the server beside its public interface: an eligibility
//! check now (instead of waiting `wiki.recheck_minutes`), and applications filed and
//! decided through their service.

use helpline::domain::QueueId;

use super::TestApp;

impl TestApp {
    /// One eligibility check of every queue with rules, as the server runs every
    /// `wiki.recheck_minutes`; how many memberships changed.
    pub async fn recheck_eligibility(&self) -> usize {
        helpline::eligibility::recheck_all(self.state()).await.unwrap()
    }

    /// Files an application to join a queue, as an applicant does.
    pub async fn apply_to_join(&self, queue: &str, name: &str, statement: &str) -> Result<String, String> {
        helpline::eligibility::applications::file(self.state(), &QueueId::from(queue), name, statement)
            .await
            .map_err(|e| e.to_string())
    }

    /// A coordinator decides an application; the refusal's message if refused.
    pub async fn decide_application(
        &self,
        by: &str,
        id: &str,
        approve: bool,
        reason: &str,
    ) -> Result<String, String> {
        let by = self.helper(by).await.ok_or("no such helper")?;
        helpline::eligibility::applications::decide(self.state(), &by, id, approve, reason)
            .await
            .map(|a| a.status)
            .map_err(|e| e.to_string())
    }
}
