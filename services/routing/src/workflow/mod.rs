//! The case workflow in the database: the domain's rules applied to stored cases, with
//! their clocks and timers, timeline, events and notifications, in one transaction.

pub mod act;
pub mod audit;
pub mod calendar;
pub mod county_deadline;
pub mod extension;
pub mod firing;
pub mod policy;
pub mod rated;
pub mod record;
pub mod timers;
