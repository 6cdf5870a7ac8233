package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/endpoint/gateway"
	"github.com/wardenhq/warden/internal/stubmodel"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) *testCA {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "warden test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: k, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a leaf certificate and key to dir and returns their paths.
func (ca *testCA) issue(t *testing.T, dir, cn string, server bool) (string, string) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &k.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	cp, kp := filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	_ = os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cp, kp
}

// TestMutualTLS: the gateway presents its client certificate to an
// upstream that requires one (a corporate gateway chain), and in central
// mode maps an agent's client certificate to its identity.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	caFile := filepath.Join(dir, "ca.pem")
	_ = os.WriteFile(caFile, ca.pem, 0o600)

	// Upstream: the stub behind TLS that requires a client certificate.
	stub, _ := stubmodel.New(stubmodel.Options{})
	defer stub.Close()
	upCert, upKey := ca.issue(t, dir, "upstream", true)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "warden-gateway" {
			http.Error(w, "no client cert", 403)
			return
		}
		stub.ServeHTTP(w, r)
	}))
	crt, _ := tls.LoadX509KeyPair(upCert, upKey)
	up.TLS = &tls.Config{Certificates: []tls.Certificate{crt}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	up.StartTLS()
	defer up.Close()

	gwClientCert, gwClientKey := ca.issue(t, dir, "warden-gateway", false)
	gwServerCert, gwServerKey := ca.issue(t, dir, "gateway-server", true)
	agentCert, agentKey := ca.issue(t, dir, "laptop-42", false)
	strangerCert, strangerKey := ca.issue(t, dir, "laptop-99", false)
	yml := fmt.Sprintf(`mode: central
tls: {cert_file: %s, key_file: %s, client_ca_file: %s}
client_certs:
  - {common_name: laptop-42, user: carol, device: laptop-42, department: engineering}
providers:
  anthropic:
    base_url: %s
    api_key: real
    tls: {cert_file: %s, key_file: %s, ca_file: %s}
`, gwServerCert, gwServerKey, caFile, up.URL, gwClientCert, gwClientKey, caFile)
	cfg, err := gateway.ParseConfig([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	det, dec := mustDeps(t)
	sink := &captureSink{}
	gw, err := gateway.New(cfg, gateway.Options{Detector: det, Decider: dec, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := cfg.ServerTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = gw.Serve(ctx, ln, tc) }()

	call := func(certFile, keyFile string) (int, string) {
		tlsc := &tls.Config{RootCAs: pool}
		if certFile != "" {
			c, _ := tls.LoadX509KeyPair(certFile, keyFile)
			tlsc.Certificates = []tls.Certificate{c}
		}
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsc}}
		req, _ := http.NewRequest("POST", "https://"+ln.Addr().String()+"/v1/messages",
			strings.NewReader(`{"model":"claude-opus-5-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`))
		resp, err := cl.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, resp.Status)
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		return resp.StatusCode, string(buf[:n])
	}
	if code, body := call(agentCert, agentKey); code != 200 {
		t.Fatalf("mapped client cert: %d %s", code, body)
	}
	if ev := sink.last(t); ev.Identity.User != "carol" || ev.Identity.Device != "laptop-42" {
		t.Fatalf("identity %+v", ev.Identity)
	}
	if code, body := call(strangerCert, strangerKey); code != 401 || !strings.Contains(body, "laptop-99") {
		t.Fatalf("unmapped client cert: %d %s", code, body)
	}
	if code, _ := call("", ""); code == 200 {
		t.Fatal("no client certificate was accepted")
	}
	if stub.ModelCalls() != 1 {
		t.Fatalf("upstream saw %d calls", stub.ModelCalls())
	}
}
