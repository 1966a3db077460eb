//! What a client connection carried: frames and bytes, both ways.

/// Frames (WebSocket messages, IRC lines, HTTP exchanges) and their bytes, both ways,
/// counted at the client within the measured window.
#[derive(Clone, Copy, Default, Debug)]
pub struct Traffic {
    pub frames: u64,
    pub bytes: u64,
}

impl Traffic {
    pub fn add(&mut self, other: Traffic) {
        self.frames += other.frames;
        self.bytes += other.bytes;
    }
}
