//! `lookout-ui`
