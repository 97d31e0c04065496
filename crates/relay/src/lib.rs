//! `lookout-relay`
