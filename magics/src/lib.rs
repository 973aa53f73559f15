//! Everything behind sluice's cell magics.
//!
//! This crate is the **API boundary** between the Jupyter kernel and the rest
//! of sluice. It never sees a Jupyter message, ZeroMQ or evcxr: the kernel
//! hands it cell text and gets back typed outputs and errors.
#![deny(missing_docs)]

pub mod catalog;
pub mod diagnostic;
