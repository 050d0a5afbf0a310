module herald

go 1.26.0

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
)
