package synth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// sidecarSuffix names the file beside a model that records what Ensure
// wrote, so that a later Ensure can check the model instead of rewriting it.
const sidecarSuffix = ".json"

// diskMargin is the free space a write leaves on the disk.
const diskMargin = 256 << 20

// Ensure makes sure dir holds the model of spec, written by this package and
// unchanged since. A model already there is reused when its sidecar names
// the same spec and its bytes still hash to the recorded sha256; otherwise
// it is written again. The returned bool says whether it was reused.
//
// Reuse reads the whole file once to hash it, which costs what reading it
// from disk costs; callers that ensure the same model often should cache the
// Info. Ending ctx stops a write or a hash part way; a partly written model
// never takes the place of the file.
func Ensure(ctx context.Context, dir string, spec Spec) (Info, bool, error) {
	if err := spec.Validate(); err != nil {
		return Info{}, false, fmt.Errorf("ensure synthetic model: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Info{}, false, fmt.Errorf("ensure synthetic model: %w", err)
	}
	path := filepath.Join(dir, spec.FileName())

	if info, ok := reusable(ctx, path, spec); ok {
		return info, true, nil
	}
	if err := ctx.Err(); err != nil {
		return Info{}, false, fmt.Errorf("ensure synthetic model %s: %w", spec, err)
	}

	// a stale sidecar must never vouch for a new file, even for a moment
	if err := os.Remove(path + sidecarSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Info{}, false, fmt.Errorf("ensure synthetic model %s: %w", spec, err)
	}
	info, err := WriteFileContext(ctx, path, spec)
	if err != nil {
		return Info{}, false, err
	}
	if err := writeSidecar(path+sidecarSuffix, info); err != nil {
		return Info{}, false, err
	}
	return info, false, nil
}

// reusable reports whether path holds the model of spec as its sidecar
// records it, hashing the file to be sure.
func reusable(ctx context.Context, path string, spec Spec) (Info, bool) {
	raw, err := os.ReadFile(path + sidecarSuffix)
	if err != nil {
		return Info{}, false
	}
	var rec Info
	if json.Unmarshal(raw, &rec) != nil || rec.Spec != spec || rec.Bytes != spec.Size() {
		return Info{}, false
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() != rec.Bytes {
		return Info{}, false
	}
	sum, err := hashFile(ctx, path)
	if err != nil || sum != rec.SHA256 {
		return Info{}, false
	}
	rec.Path = path
	return rec, true
}

// hashFile returns the lowercase hex sha256 of a file's bytes.
func hashFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, &ctxReader{ctx: ctx, r: f}); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeSidecar records info beside the model, atomically.
func writeSidecar(path string, info Info) error {
	raw, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(append(raw, '\n'))
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ctxReader stops a long read when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ctxWriter stops a long write when its context ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
