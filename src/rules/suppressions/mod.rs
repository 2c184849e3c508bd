//! Rules about trunkguard's own suppression comments (TG0xx). Their findings come from the
//! suppression stage (`crate::suppress`, run by the engine after the walk), not from node dispatch.

pub mod tg001_unused_suppression;
