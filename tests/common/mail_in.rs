//! The server's mail-in key, as `helpline mail-in` derives it from the data directory.

use super::TestApp;

impl TestApp {
    pub fn mail_in_key(&self) -> String {
        self.state().secrets.mail_in_key()
    }
}
