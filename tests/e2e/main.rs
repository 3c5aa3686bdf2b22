//! End-to-end tests across the services, against real PostgreSQL, NATS and S3.

mod admin_pages;
mod bad_input;
mod case_list;
mod case_uploads;
mod console_signin;
mod delivery;
mod directory;
mod edge;
mod intake_api;
mod intake_hardening;
mod intake_housekeeping;
mod intake_privacy;
mod intake_reports;
mod intake_status;
mod isolation;
mod qr;
mod readiness;
mod reply_templates;
mod schema;
mod security;
mod sign_in_links;
mod signin;
mod skeleton;
mod transfer;
mod workflow;
mod workflow_admin;
