// Package crashtest proves that stagecoach survives being killed at any moment. Its tests build
// the real `bot` binary, run `bot serve` as child processes in their own process groups against an
// in-process GitHub simulator (internal/githubsim), the real Pulumi CLI (behind a wrapper that
// makes `up` and `destroy` last 0.5–2 s, so kills land mid-operation) and a file state backend,
// and then kill them with SIGKILL at seeded random moments while pull requests are opened, pushed
// to, commanded and closed.
//
// After every kill the bot is started again on the same data (or, on Postgres with two replicas,
// the survivor must carry on alone), the webhooks that failed while it was down are redelivered
// the way an operator would (except one missed synchronize, which only the bot's own sweep can
// catch), and each pull request must reach the state it wants within 60 s:
//
//   - its environment ready at the PR's head commit, or destroyed with its stack gone from the
//     backend when the PR is closed;
//   - exactly one status comment, the head's check run completed and the newest deployment's
//     latest status final (never left in_progress);
//   - no Pulumi lock file left under the backend's .pulumi/locks;
//   - exactly one reply to every command, even when the same delivery reached both replicas.
//
// Other tests cut GitHub off (every API call answers 502 for a minute) and restart a private
// Postgres cluster while a deploy runs. Each run prints its figures (trials, recovered within
// 60 s, median and maximum time to recover, stacks left locked, duplicates, unfinished comments
// and check runs); BENCHMARKS.md ("Reliability") records them with the command to reproduce.
//
// Randomness comes from one seed, printed in the log and set with STAGECOACH_CRASH_SEED;
// STAGECOACH_CRASH_TRIALS sets the number of SQLite trials (default 20). The tests fail rather
// than skip when the Pulumi CLI or Postgres is missing and STAGECOACH_REQUIRE_TOOLS is set.
package crashtest
