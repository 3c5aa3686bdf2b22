//! Staff access: sign-in with a phone number or username and a password (argon2id),
//! session cookies with CSRF protection for the web console, bearer tokens for API
//! clients, API tokens for integrations, throttling of failed sign-ins, one-time reset
//! codes, single-use sign-in links that open one case on a phone, and the permission
//! matrix that every handler checks in one place.
//!
//! The tenant of a request always comes from the signed-in principal, never from a
//! parameter the client controls.

mod api_tokens;
mod case_link;
mod cookie;
mod error;
mod extract;
pub mod keys;
mod open311_keys;
mod password;
pub mod permissions;
pub mod pii;
mod principal;
mod reset;
mod secret;
mod sessions;
mod signin;
mod township;

pub use api_tokens::{
    ApiTokenInfo, NewApiToken, create_api_token, list_api_tokens, revoke_api_token,
};
pub use case_link::{
    CASE_LINK_DEFAULT_HOURS, CASE_LINK_MAX_HOURS, CASE_LINK_TOKEN_MAX, CaseLink, RedeemedLink,
    link_lifetime, mint_case_link, mint_case_link_in, redeem_case_link, token_well_formed,
};
pub use cookie::{SESSION_COOKIE, SIGNIN_COOKIE};
pub use error::AuthError;
pub use extract::{
    Auth, AuthConfig, Authenticator, CSRF_HEADER, MaybeAuth, MaybeSignedIn, SIGNIN_FORM_SECS,
    actor_scope,
};
pub use keys::Keys;
pub use open311_keys::{
    OPEN311_KEY_MAX, OPEN311_KEY_NAME_MAX, OPEN311_KEY_PREFIX, Open311KeyInfo, create_open311_key,
    list_open311_keys, open311_key_in_use, open311_key_name, revoke_open311_key,
};
pub use password::{Password, hash_password, verify_password};
pub use permissions::{Action, Scope, Target};
pub use pii::PiiKey;
pub use principal::{Principal, PrincipalKind, RoleGrant};
pub use reset::{
    issue_county_reset_code, issue_reset_code, redeem_reset_code, set_county_password,
    set_staff_password,
};
pub use sessions::{SignedIn, end_all_sessions, end_session};
pub use signin::{SigninThrottle, normalise_login, sign_in};
pub use township::township_name;
