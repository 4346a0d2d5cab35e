# The mega image: the inference service on Cloud Run (mega serve) and the
# Kubeflow pipeline components (mega step NAME). A static binary on
# distroless, running as the nonroot user.
#
#   docker build -t mega .                      (or: gcloud builds submit, see cloudbuild.yaml)

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The AVX2 int8 kernels (simd/archsimd) need GOEXPERIMENT=simd; Cloud Build runs on amd64.
RUN CGO_ENABLED=0 GOOS=linux GOEXPERIMENT=simd go build -trimpath -ldflags="-s -w" -o /out/mega ./cmd/mega

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mega /mega
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/mega"]
CMD ["serve", "--port", "8080"]
