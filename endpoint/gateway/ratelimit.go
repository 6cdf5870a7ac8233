package gateway

import (
	"net/http"
	"sync"

	"golang.org/x/time/rate"
)

// rateLimits are token buckets per user and per agent, kept in memory (a
// restart refills them, which is harmless for rate limits, unlike budgets).
type rateLimits struct {
	cfg   RateLimitConfig
	mu    sync.Mutex
	user  map[string]*rate.Limiter
	agent map[string]*rate.Limiter
}

func newRateLimits(c RateLimitConfig) *rateLimits {
	return &rateLimits{cfg: c, user: map[string]*rate.Limiter{}, agent: map[string]*rate.Limiter{}}
}

func (r *rateLimits) get(m map[string]*rate.Limiter, k string, c *Rate) *rate.Limiter {
	l := m[k]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(c.PerSecond), c.Burst)
		m[k] = l
	}
	return l
}

func (r *rateLimits) allow(user, agent string) *wardenError {
	if r.cfg.PerUser == nil && r.cfg.PerAgent == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.cfg.PerUser; c != nil && !r.get(r.user, user, c).Allow() {
		return errf(http.StatusTooManyRequests, "rate_limited", "user %q is over the rate limit of %.3g calls/s (burst %d); slow down and retry", user, c.PerSecond, c.Burst)
	}
	if c := r.cfg.PerAgent; c != nil && !r.get(r.agent, agent, c).Allow() {
		return errf(http.StatusTooManyRequests, "rate_limited", "agent %q is over the rate limit of %.3g calls/s (burst %d); slow down and retry", agent, c.PerSecond, c.Burst)
	}
	return nil
}
