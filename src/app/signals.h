// Termination signals for long-running subcommands.
//
// BlockTerminationSignals() must run on the main thread before any other thread starts, so
// that every thread inherits the mask and SIGTERM/SIGINT are only ever seen by
// WaitForTerminationSignal(), which returns the signal number. A second signal while shutting
// down is left to its default action by the caller restoring the mask (see cmd_serve.cc).
#pragma once

namespace inferline::app {

void BlockTerminationSignals();
// What every long-running subcommand does first, on the main thread before other threads
// start: BlockTerminationSignals(), then raises the soft limit on open files to the hard one
// (common/process_limits.h), warning when even that allows fewer than 4,096 connections.
void PrepareServerProcess();
int WaitForTerminationSignal();
// Lets a further SIGTERM/SIGINT kill the process at once (used after the first one).
void UnblockTerminationSignals();

}  // namespace inferline::app
