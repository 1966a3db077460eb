//! Who is looking at a conversation: helpers whose live socket follows it (the console's
//! conversation page opens one). Told to the other helpers following it, so two helpers
//! do not answer the same person at cross purposes; never to the requester.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{ConversationEvent, Hub};
use crate::domain::ConversationId;

#[derive(Default)]
pub struct Viewers {
    /// conversation id → helper name → number of sockets following it.
    by_conversation: Mutex<HashMap<ConversationId, HashMap<String, usize>>>,
}

impl Viewers {
    pub fn opened(&self, hub: &Hub, conversation: &ConversationId, helper: &str) {
        let names = {
            let mut map = self.by_conversation.lock().unwrap_or_else(|e| e.into_inner());
            let viewers = map.entry(conversation.clone()).or_default();
            *viewers.entry(helper.to_string()).or_default() += 1;
            names(viewers)
        };
        hub.publish(conversation, ConversationEvent::Viewers(Arc::new(names)));
    }

    pub fn closed(&self, hub: &Hub, conversation: &ConversationId, helper: &str) {
        let names = {
            let mut map = self.by_conversation.lock().unwrap_or_else(|e| e.into_inner());
            let Some(viewers) = map.get_mut(conversation) else { return };
            if let Some(count) = viewers.get_mut(helper) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    viewers.remove(helper);
                }
            }
            let names = names(viewers);
            if viewers.is_empty() {
                map.remove(conversation);
            }
            names
        };
        hub.publish(conversation, ConversationEvent::Viewers(Arc::new(names)));
    }

    pub fn of(&self, conversation: &ConversationId) -> Vec<String> {
        self.by_conversation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(conversation)
            .map(names)
            .unwrap_or_default()
    }
}

fn names(viewers: &HashMap<String, usize>) -> Vec<String> {
    let mut names: Vec<String> = viewers.keys().cloned().collect();
    names.sort();
    names
}
