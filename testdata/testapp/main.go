// Command testapp is the container that kgit's tests run, on every backend: the process
// backend runs it as a host binary, the docker backend inside a FROM scratch image.
//
//	testapp serve [ADDR]   log a line, then serve HTTP on ADDR (default :8080):
//	                       /healthz is 200 unless the file $UNHEALTHY exists, /version
//	                       prints $VERSION, /pod $POD_NAME, /env/NAME $NAME; SIGTERM
//	                       finishes the requests in flight and exits 0. The same port
//	                       serves gRPC health (grpc.health.v1.Health/Check, cleartext
//	                       HTTP/2) for the services "" and "testapp": SERVING, or
//	                       NOT_SERVING while $UNHEALTHY exists
//	testapp serve-tls ADDR the same over HTTPS, with a self-signed certificate made at start
//	testapp sleep          log a line and wait for SIGTERM
//	testapp ignore-term    log a line and ignore SIGTERM
//	testapp exit CODE      log a line and exit with CODE
//	testapp write PATH TEXT append the line TEXT to the file PATH and exit 0
//	testapp cat            print $POD_NAME, then copy the input to the output
//	testapp wait-file PATH wait until the file PATH exists, then exit 0
//	testapp burn [MILLI]   log a line and keep MILLI millicores busy (default a whole CPU)
//	                       until SIGTERM
//	testapp alloc MIB      log a line, allocate and touch MIB mebibytes, wait for SIGTERM
//	testapp id             print the user and group IDs it runs as (uid:gid)
//	testapp files PATH...  append a line to $BOOTS_FILE if set, print "path mode
//	                       content" for each file under each PATH, then wait for SIGTERM
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testapp serve|sleep|ignore-term|exit")
		os.Exit(2)
	}
	if os.Args[1] == "id" {
		fmt.Printf("%d:%d\n", os.Getuid(), os.Getgid())
		return
	}
	if os.Args[1] == "cat" { // kgit exec's tests: no greeting
		fmt.Println(os.Getenv("POD_NAME"))
		_, _ = io.Copy(os.Stdout, os.Stdin)
		return
	}
	// Signals are set up before the greeting, so that a test that saw the greeting knows
	// how the program will take SIGTERM.
	term := make(chan os.Signal, 1)
	if os.Args[1] == "ignore-term" {
		signal.Ignore(syscall.SIGTERM)
	} else if f := os.Getenv("TERM_FILE"); f != "" { // tests see when SIGTERM came (after a preStop hook?)
		caught := make(chan os.Signal, 1)
		signal.Notify(caught, syscall.SIGTERM, syscall.SIGINT)
		go func() {
			sig := <-caught
			_ = appendLine(f, "sigterm")
			term <- sig
		}()
	} else {
		signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	}
	fmt.Printf("hello from %s version %s\n", os.Getenv("POD_NAME"), os.Getenv("VERSION"))

	switch os.Args[1] {
	case "serve", "serve-tls":
		addr := ":8080"
		if len(os.Args) > 2 {
			addr = os.Args[2]
		}
		http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
			if f := os.Getenv("UNHEALTHY"); f != "" {
				if _, err := os.Stat(f); err == nil {
					http.Error(w, "unhealthy", http.StatusServiceUnavailable)
					return
				}
			}
			fmt.Fprintln(w, "ok")
		})
		http.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, os.Getenv("VERSION")) })
		http.HandleFunc("/pod", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, os.Getenv("POD_NAME")) })
		http.HandleFunc("/echo/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, os.Getenv("VERSION"), r.URL.Path, r.Host)
		})
		http.HandleFunc("/env/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, os.Getenv(r.URL.Path[len("/env/"):])) })
		http.HandleFunc("/grpc.health.v1.Health/Check", grpcHealth)
		srv := &http.Server{Addr: addr, Protocols: new(http.Protocols)}
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
		listen := srv.ListenAndServe
		if os.Args[1] == "serve-tls" {
			cert, err := selfSigned()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
			listen = func() error { return srv.ListenAndServeTLS("", "") }
		}
		go func() {
			if err := listen(); err != nil && err != http.ErrServerClosed {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}()
		<-term
		// Finish the requests in flight, as a well-behaved server behind a Service does.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	case "sleep":
		<-term
	case "alloc":
		mib, _ := strconv.Atoi(os.Args[2])
		held := make([][]byte, 0, mib)
		for range mib {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			held = append(held, b)
		}
		fmt.Printf("allocated %d MiB\n", len(held))
		<-term
	case "wait-file":
		for {
			if _, err := os.Stat(os.Args[2]); err == nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	case "burn":
		milli := 1000
		if len(os.Args) > 2 {
			milli, _ = strconv.Atoi(os.Args[2])
		}
		// Busy for milli/10 ms of every 100 ms.
		for tick := time.NewTicker(100 * time.Millisecond); ; {
			for until := time.Now().Add(time.Duration(milli) * 100 * time.Microsecond); time.Now().Before(until); {
			}
			select {
			case <-term:
				return
			case <-tick.C:
			}
		}
	case "ignore-term":
		for {
			time.Sleep(time.Hour)
		}
	case "files":
		if f := os.Getenv("BOOTS_FILE"); f != "" { // count the starts in a volume that persists
			fh, err := os.OpenFile(f, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err == nil {
				fh.WriteString("boot\n")
				fh.Close()
			}
			data, _ := os.ReadFile(f)
			fmt.Printf("boots=%d\n", strings.Count(string(data), "\n"))
		}
		for _, root := range os.Args[2:] {
			_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					fmt.Printf("%s error %v\n", p, err)
					return nil
				}
				if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
					data, _ := os.ReadFile(p)
					fmt.Printf("%s %o %s\n", p, info.Mode().Perm(), data)
				}
				return nil
			})
		}
		fmt.Println("done")
		<-term
	case "exit":
		code, _ := strconv.Atoi(os.Args[2])
		os.Exit(code)
	case "write":
		if err := appendLine(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func appendLine(path, text string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err == nil {
		_, err = fmt.Fprintln(f, text)
		f.Close()
	}
	return err
}

// grpcHealth answers grpc.health.v1.Health/Check without the grpc module: the request is
// a length-prefixed HealthCheckRequest{service = 1}, the answer a HealthCheckResponse{status
// = 1} and the grpc-status trailer.
func grpcHealth(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	service := ""
	if len(body) > 7 && body[5] == 0x0a && int(body[6]) <= len(body)-7 {
		service = string(body[7 : 7+int(body[6])])
	}
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
	if service != "" && service != "testapp" {
		w.WriteHeader(http.StatusOK)
		w.Header().Set("Grpc-Status", "5")
		w.Header().Set("Grpc-Message", "unknown service")
		return
	}
	status := byte(1) // SERVING
	if f := os.Getenv("UNHEALTHY"); f != "" {
		if _, err := os.Stat(f); err == nil {
			status = 2 // NOT_SERVING
		}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte{0, 0, 0, 0, 2, 0x08, status})
	w.Header().Set("Grpc-Status", "0")
	w.Header().Set("Grpc-Message", "")
}

// selfSigned makes a certificate for serve-tls: probes, like the kubelet's, do not verify.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
