//! Rules about trunkguard's own suppression comments (TG0xx). They report after the walk
//! ([`crate::rules::Rule::after_walk`]), from what the suppression stage (`crate::suppress`) found.

pub mod tg001_unused_suppression;
