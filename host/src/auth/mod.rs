//! Who is calling and what they may do: passwords, JWTs, one-time tokens and
//! the permission rules.

pub mod jwt;
pub mod password;
pub mod permissions;
pub mod rights;
pub mod tokens;

pub use jwt::{Caller, JwtKeys, TokenKind};
pub use permissions::{Operation, Resource, Target};
