//! Seeding (see below).
