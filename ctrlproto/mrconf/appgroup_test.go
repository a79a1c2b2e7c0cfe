package mrconf

import (
	"errors"
	"strings"
	"testing"
)

func TestAppGroup(t *testing.T) {
	c, err := Parse("t.conf", nil)
	if err != nil || c.Service.AppGroup != "" {
		t.Fatalf("default app_group %q, err %v", c.Service.AppGroup, err)
	}
	for _, v := range []string{"gomarsio", "mr_apps-1", "1001"} {
		c, err := Parse("t.conf", []byte("[service]\napp_group="+v+"\n"))
		if err != nil || c.Service.AppGroup != v {
			t.Errorf("app_group=%s: got %q, err %v", v, c.Service.AppGroup, err)
		}
	}
	for _, v := range []string{"a b", "-x", "g/h", "x:y"} {
		_, err := Parse("t.conf", []byte("[service]\napp_group="+v+"\n"))
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "app_group") {
			t.Errorf("app_group=%q: err %v, want a config error naming the key", v, err)
		}
	}
}
