//! Arguments of `completions SHELL` and `man`.

use clap::Args;

pub(super) const COMPLETIONS_LONG: &str = "\
Print a shell completion script on stdout. It completes subcommands, options and the
values of options with a fixed set (--output, --kinds, --on-conflict, ...).

Install it once per machine or user:
  bash:  aml-failover completions bash > ~/.local/share/bash-completion/completions/aml-failover
  zsh:   aml-failover completions zsh > \"${fpath[1]}/_aml-failover\"   (then restart zsh)
  fish:  aml-failover completions fish > ~/.config/fish/completions/aml-failover.fish

Nothing is read or written besides stdout; no workspace or credential is needed.";

pub(super) const MAN_LONG: &str = "\
Print the man page (roff, section 1) of aml-failover and all its subcommands on stdout.

  aml-failover man | man -l -                       read it now
  aml-failover man > /usr/local/share/man/man1/aml-failover.1   install it

Nothing is read or written besides stdout; no workspace or credential is needed.";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
