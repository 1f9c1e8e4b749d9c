//! Reconnect delays: exponential backoff with jitter, as socket.io's client
//! computes them, so a crowd of clients reconnecting after a server restart
//! spreads out instead of arriving as one thundering herd.

/// Backoff settings. The defaults are socket.io's: 1 s, doubling, capped at
/// 5 s, randomisation 0.5, retrying forever.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffConfig {
    /// Delay before the first retry, in milliseconds.
    pub initial_ms: u64,
    /// Largest delay, in milliseconds.
    pub max_ms: u64,
    /// Growth factor per attempt.
    pub factor: u32,
    /// Randomisation in `0.0..=1.0`: a delay `d` becomes `d ± d·jitter·r`.
    pub jitter: f64,
    /// Give up after this many failed attempts; `None` retries forever.
    pub max_attempts: Option<u32>,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial_ms: 1_000,
            max_ms: 5_000,
            factor: 2,
            jitter: 0.5,
            max_attempts: None,
        }
    }
}

/// The attempt counter plus the delay formula.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    attempts: u32,
}

impl Backoff {
    /// Starts with no failed attempts.
    pub fn new(config: BackoffConfig) -> Self {
        Backoff {
            config,
            attempts: 0,
        }
    }

    /// Failed attempts since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether the configured attempt limit is used up.
    pub fn exhausted(&self) -> bool {
        self.config
            .max_attempts
            .is_some_and(|max| self.attempts >= max)
    }

    /// The next delay in milliseconds, given a uniform random number in
    /// `[0, 1)`; counts one more attempt.
    ///
    /// socket.io's formula: `base = initial · factor^attempts`; with jitter,
    /// `deviation = ⌊r · jitter · base⌋` is subtracted or added (by the parity
    /// of `⌊r · 10⌋`); the result is capped at `max`.
    pub fn next_delay(&mut self, random: f64) -> u64 {
        let c = self.config;
        let random = if random.is_finite() {
            random.clamp(0.0, 0.999_999)
        } else {
            0.0
        };
        let growth = f64::from(c.factor).powi(self.attempts.min(64) as i32);
        let mut delay = (c.initial_ms as f64 * growth).min(u64::MAX as f64 / 4.0);
        if c.jitter > 0.0 {
            let deviation = (random * c.jitter * delay).floor();
            delay = if ((random * 10.0).floor() as u64).is_multiple_of(2) {
                delay - deviation
            } else {
                delay + deviation
            };
        }
        self.attempts = self.attempts.saturating_add(1);
        (delay.min(c.max_ms as f64)).max(0.0) as u64
    }

    /// A connection succeeded: start over.
    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}

/// A small, seedable pseudo-random generator (xorshift64*), so the sans-IO
/// core stays deterministic under test; the shell seeds it from real randomness.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (the same seed gives the same
    /// numbers; zero is replaced by a fixed non-zero constant).
    pub fn new(seed: u64) -> Self {
        // Zero is xorshift's one fixed point; any other constant will do.
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        bits as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_jitter_the_sequence_doubles_up_to_the_cap() {
        let mut b = Backoff::new(BackoffConfig {
            jitter: 0.0,
            ..Default::default()
        });
        let delays: Vec<u64> = (0..6).map(|_| b.next_delay(0.5)).collect();
        assert_eq!(delays, [1000, 2000, 4000, 5000, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_delay(0.5), 1000);
    }

    #[test]
    fn jittered_delays_stay_within_bounds() {
        let mut rng = Rng::new(42);
        for _ in 0..200 {
            let mut b = Backoff::new(BackoffConfig::default());
            for attempt in 0..10u32 {
                let base = (1000u64 << attempt.min(20)) as f64;
                let delay = b.next_delay(rng.next_f64()) as f64;
                assert!(
                    delay >= (base * 0.5).min(5000.0) - 1.0,
                    "{attempt}: {delay}"
                );
                assert!(delay <= 5000.0, "{attempt}: {delay}");
            }
        }
    }

    #[test]
    fn jitter_spreads_clients_out() {
        let mut rng = Rng::new(7);
        let firsts: Vec<u64> = (0..100)
            .map(|_| Backoff::new(BackoffConfig::default()).next_delay(rng.next_f64()))
            .collect();
        let min = *firsts.iter().min().unwrap();
        let max = *firsts.iter().max().unwrap();
        assert!(min < 700 && max > 1300, "spread {min}..{max}");
    }

    #[test]
    fn attempt_limit() {
        let mut b = Backoff::new(BackoffConfig {
            max_attempts: Some(2),
            ..Default::default()
        });
        assert!(!b.exhausted());
        b.next_delay(0.1);
        b.next_delay(0.1);
        assert!(b.exhausted());
    }

    #[test]
    fn rng_is_uniform_enough_and_never_one() {
        let mut rng = Rng::new(0);
        let samples: Vec<f64> = (0..10_000).map(|_| rng.next_f64()).collect();
        assert!(samples.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }
}
