#!/usr/bin/env bash
# Makes a throw-away certificate authority and a server certificate it signed, for running
# the emulator over HTTPS on this machine (tests, the demo): `make-certs.sh DIR` writes
#   DIR/ca.pem       the CA's certificate: what clients trust (NODE_EXTRA_CA_CERTS, curl --cacert)
#   DIR/server.pem   the server's certificate (for localhost, 127.0.0.1 and ::1) then the CA's:
#                    --tls-cert
#   DIR/server.key   its private key: --tls-key
# Both certificates are valid for 2 days; the CA's key is deleted, so it signs nothing else.
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=altogic-emulator throw-away CA" -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.crt 2>/dev/null
cat server.crt ca.pem >server.pem
rm -f ca.key ca.srl server.csr server.ext server.crt
chmod 600 server.key
