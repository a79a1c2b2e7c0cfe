package mrconf

import (
	"errors"
	"strings"
	"testing"

	"github.com/gomarsio/marsio/ctrlproto/profile"
)

func TestMetricsListen(t *testing.T) {
	c, err := Parse("t.conf", []byte("[service]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Service.MetricsListen != DefaultMetricsListen || DefaultMetricsListen != "127.0.0.1:9465" {
		t.Errorf("default metrics_listen %q", c.Service.MetricsListen)
	}
	for _, v := range []string{"off", "OFF", "127.0.0.1:0", ":9465", "[::1]:9465", "localhost:80"} {
		c, err := Parse("t.conf", []byte("[service]\nmetrics_listen="+v+"\n"))
		if err != nil {
			t.Errorf("metrics_listen=%s: %v", v, err)
			continue
		}
		if c.Service.MetricsListen != v {
			t.Errorf("metrics_listen=%s: got %q", v, c.Service.MetricsListen)
		}
	}
	for _, v := range []string{"", "9465", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", "a:b:c"} {
		_, err := Parse("t.conf", []byte("[service]\nmetrics_listen="+v+"\n"))
		if !errors.Is(err, ErrConfig) || !errors.Is(err, profile.ErrInvalid) || !strings.Contains(err.Error(), "metrics_listen") {
			t.Errorf("metrics_listen=%q: err %v, want a config error naming the key", v, err)
		}
	}
}
