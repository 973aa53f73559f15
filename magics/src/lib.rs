//! Everything behind sluice's cell magics.
//!
//! This crate is the **API boundary** between the Jupyter kernel and the rest
//! of sluice. It never sees a Jupyter message, ZeroMQ or evcxr: the kernel
//! hands it cell text through [`cell::Magics`] and implements the two traits
//! of [`session`] (evaluate Rust in the notebook; show and update displays).
//!
//! The flow of a map cell: [`grammar`] parses the magic line, [`body`] the
//! Rust body; [`taskgen`] writes a crate with the notebook's items
//! ([`notebook`]); [`task_build`] builds it (cached by content hash); the job
//! is recorded in the [`ledger`] and run by an executor ([`executor`]); the
//! cell waits with live progress ([`render`]) and binds the results.
#![deny(missing_docs)]

pub mod axis_ticks;
pub mod body;
pub mod build_progress;
pub mod cache;
pub mod catalog;
pub mod cell;
pub mod cluster;
pub mod config;
pub mod crossing;
pub mod debug_text;
pub mod diagnostic;
pub mod domain;
pub mod error;
pub mod executor;
pub mod grammar;
pub mod graph;
pub mod jobdir;
pub mod label_fit;
pub mod ledger;
pub mod notebook;
pub mod numfmt;
pub mod parallel;
mod phase;
pub mod pipeline;
pub mod plot;
pub mod plot_axes;
pub mod plot_note;
pub mod plot_spread;
pub mod prose;
pub mod render;
pub mod report;
pub mod session;
pub mod sweep;
pub mod task_build;
pub mod taskgen;
pub mod text_table;
pub mod theme;
