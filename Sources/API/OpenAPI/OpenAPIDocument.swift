/// The OpenAPI 3.1 document of the API, served at `/openapi.json`. Generated from
/// protocol/openapi.json by protocol/embed-openapi.sh (a test checks the two are equal).
enum OpenAPIDocument {
    static let json = ##"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Tidemark agent API",
    "version": "1.0.0",
    "description": "MetaApi-compatible risk management API (same paths, methods, query parameters, JSON field names and status codes as https://metaapi.cloud/docs/risk-management/restApi/overview/) plus Tidemark's accounts, challenges, competitions, streams and tokens. Every request under /users/current needs an `auth-token` header; `api-version: 1` is accepted and ignored. Errors are `{id, error, message, details}`; a 429 or 503 carries Retry-After, and a 429 also `metadata.recommendedRetryTime` (ISO 8601 UTC) as MetaApi's SDKs read it; a method the path is not served under gets 405 with Allow. Query values are form-decoded (`+` is a space, then %XX), as MetaApi's SDKs send them. With --tls-cert and --tls-key the agent serves all of this over HTTPS; MetaApi's SDKs find it through /users/current/regions and /users/current/servers/mt-client-api."
  },
  "servers": [
    {
      "url": "http://localhost:8080"
    }
  ],
  "security": [
    {
      "authToken": []
    }
  ],
  "tags": [
    {
      "name": "Accounts"
    },
    {
      "name": "Trackers"
    },
    {
      "name": "Challenges"
    },
    {
      "name": "Competitions"
    },
    {
      "name": "Streams"
    },
    {
      "name": "Tokens"
    },
    {
      "name": "Webhooks"
    },
    {
      "name": "Meta"
    },
    {
      "name": "Terminal keys",
      "description": "Which CURVE key may speak for which account (admin only)"
    }
  ],
  "paths": {
    "/openapi.json": {
      "get": {
        "summary": "This document",
        "parameters": [],
        "responses": {
          "200": {
            "description": "OpenAPI 3.1 document",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        },
        "tags": [
          "Meta"
        ],
        "security": []
      }
    },
    "/users/current/accounts": {
      "post": {
        "summary": "Register an account before its terminal connects",
        "parameters": [],
        "responses": {
          "201": {
            "description": "Registered",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Id"
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "Already registered",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/NewAccount"
              }
            }
          }
        },
        "tags": [
          "Accounts"
        ]
      },
      "get": {
        "summary": "Accounts visible to the token, in id order, one page at a time",
        "parameters": [
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000,
              "default": 1000
            },
            "description": "At most this many accounts (the page size)"
          },
          {
            "name": "offset",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 0,
              "default": 0
            },
            "description": "Accounts to skip, in id order (the next page starts at offset + limit)"
          }
        ],
        "responses": {
          "200": {
            "description": "Accounts",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/Account"
                  }
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Accounts"
        ]
      }
    },
    "/users/current/accounts/{accountId}": {
      "get": {
        "summary": "One account",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          }
        ],
        "responses": {
          "200": {
            "description": "Account",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Account"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Accounts"
        ]
      }
    },
    "/users/current/accounts/{accountId}/challenges": {
      "post": {
        "summary": "Create a challenge from a template or a full definition",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          }
        ],
        "responses": {
          "201": {
            "description": "Created; the challenge id",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Id"
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "Id taken",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/NewChallenge"
              }
            }
          }
        },
        "tags": [
          "Challenges"
        ]
      },
      "get": {
        "summary": "Challenges of an account",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          }
        ],
        "responses": {
          "200": {
            "description": "Challenges",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/Challenge"
                  }
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Challenges"
        ]
      }
    },
    "/users/current/accounts/{accountId}/challenges/{challengeId}": {
      "get": {
        "summary": "A challenge",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          },
          {
            "name": "challengeId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Challenge id"
          }
        ],
        "responses": {
          "200": {
            "description": "Challenge",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Challenge"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Challenges"
        ]
      },
      "delete": {
        "summary": "Remove a challenge",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          },
          {
            "name": "challengeId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Challenge id"
          }
        ],
        "responses": {
          "204": {
            "description": "Done"
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Challenges"
        ]
      }
    },
    "/users/current/accounts/{accountId}/challenges/{challengeId}/status": {
      "get": {
        "summary": "Status with per-rule progress",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          },
          {
            "name": "challengeId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Challenge id"
          }
        ],
        "responses": {
          "200": {
            "description": "Progress",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ChallengeProgress"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Challenges"
        ]
      }
    },
    "/users/current/accounts/{accountId}/equity-chart": {
      "get": {
        "summary": "Hourly equity chart (MetaApi getEquityChart)",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          },
          {
            "name": "startTime",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
              "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
            },
            "description": "Hours overlapping from"
          },
          {
            "name": "endTime",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
              "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
            },
            "description": "Hours overlapping until"
          },
          {
            "name": "realTime",
            "in": "query",
            "required": false,
            "schema": {
              "type": "boolean",
              "default": false
            },
            "description": "Include the current hour"
          }
        ],
        "responses": {
          "200": {
            "description": "Chart",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/EquityChartItem"
                  }
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Trackers"
        ]
      }
    },
    "/users/current/accounts/{accountId}/equity-stream": {
      "get": {
        "summary": "Server-Sent Events of live equity and balance (`event: equity`, data: EquityFrame). A slow client skips to the newest figure.",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          }
        ],
        "responses": {
          "200": {
            "description": "An event stream of EquityFrame",
            "content": {
              "text/event-stream": {
                "schema": {
                  "type": "string"
                },
                "x-data-schema": {
                  "$ref": "#/components/schemas/EquityFrame"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "429": {
            "description": "Too many long polls and streams open for this token; retry after Retry-After seconds",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Streams"
        ]
      }
    },
    "/users/current/accounts/{accountId}/trackers": {
      "post": {
        "summary": "Create a profit/drawdown tracker (MetaApi createTracker)",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          }
        ],
        "responses": {
          "201": {
            "description": "Created; the tracker id",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Id"
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "A tracker of this account has this name",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/NewTracker"
              }
            }
          }
        },
        "tags": [
          "Trackers"
        ]
      },
      "get": {
        "summary": "Trackers of an account (MetaApi getTrackers)",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          }
        ],
        "responses": {
          "200": {
            "description": "Trackers",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/Tracker"
                  }
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Trackers"
        ]
      }
    },
    "/users/current/accounts/{accountId}/trackers/name/{name}": {
      "get": {
        "summary": "Tracker by name (MetaApi getTrackerByName)",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          },
          {
            "name": "name",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Tracker name (URL-encoded)"
          }
        ],
        "responses": {
          "200": {
            "description": "Tracker",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Tracker"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Trackers"
        ]
      }
    },
    "/users/current/accounts/{accountId}/trackers/{trackerId}": {
      "get": {
        "summary": "Tracker by id (MetaApi getTracker)",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          },
          {
            "name": "trackerId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Tracker id"
          }
        ],
        "responses": {
          "200": {
            "description": "Tracker",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Tracker"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Trackers"
        ]
      },
      "put": {
        "summary": "Rename a tracker (MetaApi updateTracker: only the name)",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          },
          {
            "name": "trackerId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Tracker id"
          }
        ],
        "responses": {
          "204": {
            "description": "Done"
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "Name taken",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TrackerUpdate"
              }
            }
          }
        },
        "tags": [
          "Trackers"
        ]
      },
      "delete": {
        "summary": "Remove a tracker (MetaApi removeTracker)",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          },
          {
            "name": "trackerId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Tracker id"
          }
        ],
        "responses": {
          "204": {
            "description": "Done"
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Trackers"
        ]
      }
    },
    "/users/current/accounts/{accountId}/trackers/{trackerId}/statistics": {
      "get": {
        "summary": "Period statistics, newest first from startTime backwards (MetaApi getTrackingStats)",
        "parameters": [
          {
            "name": "accountId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "server:login (URL-encoded)"
          },
          {
            "name": "trackerId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Tracker id"
          },
          {
            "name": "startTime",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
              "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
            },
            "description": "Periods starting at or before it; default now"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000,
              "default": 1
            },
            "description": "Records to return"
          },
          {
            "name": "realTime",
            "in": "query",
            "required": false,
            "schema": {
              "type": "boolean",
              "default": false
            },
            "description": "Include the open period"
          }
        ],
        "responses": {
          "200": {
            "description": "Statistics",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/PeriodStatistics"
                  }
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Trackers"
        ]
      }
    },
    "/users/current/challenge-events/by-broker-time": {
      "get": {
        "summary": "Challenges events by broker time (bounds inclusive), ascending by sequence number",
        "parameters": [
          {
            "name": "startBrokerTime",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
              "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
            },
            "description": "Inclusive lower bound"
          },
          {
            "name": "endBrokerTime",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
              "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
            },
            "description": "Inclusive upper bound"
          },
          {
            "name": "accountId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this account"
          },
          {
            "name": "challengeId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this challenges"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000,
              "default": 1000
            },
            "description": "At most this many events"
          }
        ],
        "responses": {
          "200": {
            "description": "Events",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/ChallengeEvent"
                  }
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Challenges"
        ]
      }
    },
    "/users/current/challenge-events/stream": {
      "get": {
        "summary": "Challenges events long poll: answers at once when events after previousSequenceNumber exist, else holds the request up to ~60 s and answers []",
        "parameters": [
          {
            "name": "previousSequenceNumber",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 0,
              "default": 0
            },
            "description": "The last sequence number consumed"
          },
          {
            "name": "accountId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this account"
          },
          {
            "name": "challengeId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this challenges"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000,
              "default": 1000
            },
            "description": "At most this many events"
          }
        ],
        "responses": {
          "200": {
            "description": "Events",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/ChallengeEvent"
                  }
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "429": {
            "description": "Too many long polls and streams open for this token; retry after Retry-After seconds",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Challenges"
        ]
      }
    },
    "/users/current/competition-events/by-broker-time": {
      "get": {
        "summary": "Competitions events by broker time (bounds inclusive), ascending by sequence number",
        "parameters": [
          {
            "name": "startBrokerTime",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
              "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
            },
            "description": "Inclusive lower bound"
          },
          {
            "name": "endBrokerTime",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
              "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
            },
            "description": "Inclusive upper bound"
          },
          {
            "name": "accountId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this account"
          },
          {
            "name": "competitionId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this competitions"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000,
              "default": 1000
            },
            "description": "At most this many events"
          }
        ],
        "responses": {
          "200": {
            "description": "Events",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/CompetitionEvent"
                  }
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Competitions"
        ]
      }
    },
    "/users/current/competition-events/stream": {
      "get": {
        "summary": "Competitions events long poll: answers at once when events after previousSequenceNumber exist, else holds the request up to ~60 s and answers []",
        "parameters": [
          {
            "name": "previousSequenceNumber",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 0,
              "default": 0
            },
            "description": "The last sequence number consumed"
          },
          {
            "name": "accountId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this account"
          },
          {
            "name": "competitionId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this competitions"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000,
              "default": 1000
            },
            "description": "At most this many events"
          }
        ],
        "responses": {
          "200": {
            "description": "Events",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/CompetitionEvent"
                  }
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "429": {
            "description": "Too many long polls and streams open for this token; retry after Retry-After seconds",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Competitions"
        ]
      }
    },
    "/users/current/competitions": {
      "post": {
        "summary": "Create a competition",
        "parameters": [],
        "responses": {
          "201": {
            "description": "Created; the competition id",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Id"
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "Id taken",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/CompetitionDefinition"
              }
            }
          }
        },
        "tags": [
          "Competitions"
        ]
      },
      "get": {
        "summary": "Competitions whose accounts are all visible to the token",
        "parameters": [],
        "responses": {
          "200": {
            "description": "Competitions",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/Competition"
                  }
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Competitions"
        ]
      }
    },
    "/users/current/competitions/{competitionId}": {
      "get": {
        "summary": "A competition",
        "parameters": [
          {
            "name": "competitionId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Competition id"
          }
        ],
        "responses": {
          "200": {
            "description": "Competition",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Competition"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Competitions"
        ]
      },
      "delete": {
        "summary": "Remove a competition",
        "parameters": [
          {
            "name": "competitionId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Competition id"
          }
        ],
        "responses": {
          "204": {
            "description": "Done"
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Competitions"
        ]
      }
    },
    "/users/current/competitions/{competitionId}/leaderboard": {
      "get": {
        "summary": "Live leaderboard",
        "parameters": [
          {
            "name": "competitionId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Competition id"
          }
        ],
        "responses": {
          "200": {
            "description": "Leaderboard",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/LeaderboardEntry"
                  }
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Competitions"
        ]
      }
    },
    "/users/current/events/stream": {
      "get": {
        "summary": "Server-Sent Events of every committed event: `id:` the sequence number, `event:` tracker|challenge|competition, `data:` the event JSON. Resumes after Last-Event-ID (header) or previousSequenceNumber; `: keep-alive` comments when quiet.",
        "parameters": [
          {
            "name": "previousSequenceNumber",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 0,
              "default": 0
            },
            "description": "Start after this sequence number"
          },
          {
            "name": "kind",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "tracker",
                "challenge",
                "competition"
              ]
            },
            "description": "Only this kind"
          },
          {
            "name": "accountId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this account"
          },
          {
            "name": "Last-Event-ID",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Resume point sent by a reconnecting EventSource"
          }
        ],
        "responses": {
          "200": {
            "description": "An event stream",
            "content": {
              "text/event-stream": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "429": {
            "description": "Too many long polls and streams open for this token; retry after Retry-After seconds",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Streams"
        ]
      }
    },
    "/users/current/tokens": {
      "post": {
        "summary": "Create a token (admin only)",
        "parameters": [],
        "responses": {
          "201": {
            "description": "Created, with its secret",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CreatedToken"
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/NewToken"
              }
            }
          }
        },
        "tags": [
          "Tokens"
        ]
      },
      "get": {
        "summary": "Every token (admin only)",
        "parameters": [],
        "responses": {
          "200": {
            "description": "Tokens",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/Token"
                  }
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Tokens"
        ]
      }
    },
    "/users/current/tokens/{tokenId}": {
      "delete": {
        "summary": "Revoke a token (admin only)",
        "parameters": [
          {
            "name": "tokenId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Token id"
          }
        ],
        "responses": {
          "204": {
            "description": "Done"
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "A token cannot revoke itself",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Tokens"
        ]
      }
    },
    "/users/current/tracker-events/by-broker-time": {
      "get": {
        "summary": "Trackers events by broker time (bounds inclusive), ascending by sequence number",
        "parameters": [
          {
            "name": "startBrokerTime",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
              "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
            },
            "description": "Inclusive lower bound"
          },
          {
            "name": "endBrokerTime",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
              "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
            },
            "description": "Inclusive upper bound"
          },
          {
            "name": "accountId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this account"
          },
          {
            "name": "trackerId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this trackers"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000,
              "default": 1000
            },
            "description": "At most this many events"
          }
        ],
        "responses": {
          "200": {
            "description": "Events",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/TrackerEvent"
                  }
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Trackers"
        ]
      }
    },
    "/users/current/tracker-events/stream": {
      "get": {
        "summary": "Trackers events long poll: answers at once when events after previousSequenceNumber exist, else holds the request up to ~60 s and answers []",
        "parameters": [
          {
            "name": "previousSequenceNumber",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 0,
              "default": 0
            },
            "description": "The last sequence number consumed"
          },
          {
            "name": "accountId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this account"
          },
          {
            "name": "trackerId",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this trackers"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000,
              "default": 1000
            },
            "description": "At most this many events"
          }
        ],
        "responses": {
          "200": {
            "description": "Events",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/TrackerEvent"
                  }
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "429": {
            "description": "Too many long polls and streams open for this token; retry after Retry-After seconds",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Trackers"
        ]
      }
    },
    "/users/current/webhooks": {
      "post": {
        "summary": "Register a webhook (admin only)",
        "parameters": [],
        "responses": {
          "201": {
            "description": "Created, with its signing secret (shown only now)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CreatedWebhook"
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/NewWebhook"
              }
            }
          }
        },
        "tags": [
          "Webhooks"
        ]
      },
      "get": {
        "summary": "Every webhook, oldest first, without secrets (admin only)",
        "parameters": [],
        "responses": {
          "200": {
            "description": "Webhooks",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/Webhook"
                  }
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Webhooks"
        ]
      }
    },
    "/users/current/webhooks/{webhookId}": {
      "get": {
        "summary": "One webhook, without its secret (admin only)",
        "parameters": [
          {
            "name": "webhookId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Webhook id"
          }
        ],
        "responses": {
          "200": {
            "description": "The webhook",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Webhook"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Webhooks"
        ]
      },
      "delete": {
        "summary": "Delete a webhook and its pending deliveries (admin only)",
        "parameters": [
          {
            "name": "webhookId",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Webhook id"
          }
        ],
        "responses": {
          "204": {
            "description": "Done"
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "Not found (or not visible to this token)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Webhooks"
        ]
      }
    },
    "/users/current/regions": {
      "get": {
        "summary": "MetaApi provisioning discovery: the regions. MetaApi's SDKs ask https://mt-provisioning-api-v1.{domain} for them, then call https://risk-management-api-v1.{region}.{domain}; the agent lists one region (apiRegion, default tidemark)",
        "parameters": [],
        "responses": {
          "200": {
            "description": "Region names",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "type": "string"
                  }
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Meta"
        ]
      }
    },
    "/users/current/servers/mt-client-api": {
      "get": {
        "summary": "MetaApi provisioning discovery: the domain the SDKs build host names from. The configured apiDomain, else the domain the client asked for (its Host without mt-provisioning-api-v1. and the port)",
        "parameters": [],
        "responses": {
          "200": {
            "description": "The domain",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "hostname": {
                      "type": "string",
                      "description": "Always mt-client-api-v1"
                    },
                    "domain": {
                      "type": "string"
                    }
                  },
                  "required": [
                    "hostname",
                    "domain"
                  ]
                }
              }
            }
          },
          "400": {
            "description": "No Host header and no apiDomain configured",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Meta"
        ]
      }
    },
    "/users/current/terminal-keys": {
      "get": {
        "summary": "Terminal CURVE keys and the accounts they may speak for (admin only; 404 without CURVE)",
        "parameters": [],
        "responses": {
          "200": {
            "description": "Keys on the allow-list and keys bound to an account",
            "content": {
              "application/json": {
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/TerminalKey"
                  }
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "The agent runs without CURVE",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Terminal keys"
        ]
      },
      "put": {
        "summary": "Bind a key listed without accounts to an account, or unbind it (admin only); a live session of the key ends if its account changed",
        "parameters": [],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TerminalKeyBinding"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The key as it is now",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TerminalKey"
                }
              }
            }
          },
          "400": {
            "description": "Validation failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "401": {
            "description": "Authorization failed",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "Not allowed for this token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "The key is not on the allow-list, or the agent runs without CURVE",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "The allow-list names the key's accounts, or the account belongs to another key",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "tags": [
          "Terminal keys"
        ]
      }
    }
  },
  "components": {
    "schemas": {
      "AccountError": {
        "type": "object",
        "description": "Present while the agent refuses the account's input as not representable (a sum outside the decimal range, a time outside years 0000-9999). The agent asks the terminal for a snapshot (RESYNC); the first snapshot that folds cleanly clears it.",
        "properties": {
          "reason": {
            "type": "string",
            "enum": ["balance_out_of_range", "credit_out_of_range", "floating_out_of_range", "equity_out_of_range", "deal_out_of_range", "time_out_of_range", "sum_out_of_range", "difference_out_of_range", "product_out_of_range", "quotient_out_of_range", "time_step_out_of_range"]
          },
          "message": {
            "type": "string"
          },
          "since": {
            "type": "string",
            "format": "date-time",
            "description": "When the agent marked the account (UTC)"
          },
          "brokerTime": {
            "type": "string",
            "description": "Broker time of the input that began it (YYYY-MM-DD HH:mm:ss.SSS)"
          }
        },
        "required": ["reason", "message", "since"]
      },
      "Amount": {
        "type": [
          "number",
          "string"
        ],
        "pattern": "^-?\\d+(\\.\\d{1,8})?$",
        "description": "An exact decimal (at most 8 fractional digits): a JSON number when a double carries it exactly (at most 15 significant digits, every everyday amount), else its decimal string"
      },
      "Error": {
        "type": "object",
        "properties": {
          "id": {
            "type": "integer",
            "description": "The HTTP status code"
          },
          "error": {
            "type": "string",
            "enum": [
              "ValidationError",
              "UnauthorizedError",
              "ForbiddenError",
              "NotFoundError",
              "ConflictError",
              "TooManyRequestsError",
              "InternalError",
              "ServiceUnavailableError",
              "MethodNotAllowedError"
            ]
          },
          "message": {
            "type": "string"
          },
          "details": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/ValidationDetail"
            }
          },
          "metadata": {
            "type": "object",
            "properties": {
              "recommendedRetryTime": {
                "type": "string",
                "description": "ISO 8601 UTC instant to retry at (a 429 only; MetaApi's TooManyRequestsError metadata)"
              }
            },
            "required": [
              "recommendedRetryTime"
            ]
          }
        },
        "required": [
          "id",
          "error",
          "message"
        ],
        "description": "MetaApi's error body"
      },
      "ValidationDetail": {
        "type": "object",
        "properties": {
          "parameter": {
            "type": "string"
          },
          "value": {
            "type": "string"
          },
          "message": {
            "type": "string"
          }
        },
        "required": [
          "parameter",
          "message"
        ]
      },
      "Id": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          }
        },
        "required": [
          "id"
        ]
      },
      "NewTracker": {
        "type": "object",
        "properties": {
          "name": {
            "type": "string"
          },
          "period": {
            "type": "string",
            "enum": [
              "day",
              "date",
              "week",
              "week-to-date",
              "month",
              "month-to-date",
              "quarter",
              "quarter-to-date",
              "year",
              "year-to-date",
              "lifetime"
            ]
          },
          "startBrokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "endBrokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "absoluteDrawdownThreshold": {
            "$ref": "#/components/schemas/Amount",
            "exclusiveMinimum": 0
          },
          "relativeDrawdownThreshold": {
            "$ref": "#/components/schemas/Amount",
            "exclusiveMinimum": 0
          },
          "absoluteProfitThreshold": {
            "$ref": "#/components/schemas/Amount",
            "exclusiveMinimum": 0
          },
          "relativeProfitThreshold": {
            "$ref": "#/components/schemas/Amount",
            "exclusiveMinimum": 0
          }
        },
        "required": [
          "name",
          "period"
        ],
        "description": "MetaApi NewTracker (https://metaapi.cloud/docs/risk-management/restApi/api/createTracker/). At least one threshold is required."
      },
      "Tracker": {
        "type": "object",
        "properties": {
          "_id": {
            "type": "string"
          },
          "accountId": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "period": {
            "type": "string",
            "enum": [
              "day",
              "date",
              "week",
              "week-to-date",
              "month",
              "month-to-date",
              "quarter",
              "quarter-to-date",
              "year",
              "year-to-date",
              "lifetime"
            ]
          },
          "startBrokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "endBrokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "absoluteDrawdownThreshold": {
            "$ref": "#/components/schemas/Amount"
          },
          "relativeDrawdownThreshold": {
            "$ref": "#/components/schemas/Amount"
          },
          "absoluteProfitThreshold": {
            "$ref": "#/components/schemas/Amount"
          },
          "relativeProfitThreshold": {
            "$ref": "#/components/schemas/Amount"
          }
        },
        "required": [
          "_id",
          "name",
          "period"
        ],
        "description": "MetaApi Tracker (https://metaapi.cloud/docs/risk-management/restApi/api/getTracker/), plus accountId"
      },
      "TrackerUpdate": {
        "type": "object",
        "properties": {
          "name": {
            "type": "string"
          }
        },
        "required": [
          "name"
        ]
      },
      "TrackerEvent": {
        "type": "object",
        "properties": {
          "sequenceNumber": {
            "type": "integer"
          },
          "accountId": {
            "type": "string"
          },
          "trackerId": {
            "type": "string"
          },
          "startBrokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "endBrokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "period": {
            "type": "string",
            "enum": [
              "day",
              "date",
              "week",
              "week-to-date",
              "month",
              "month-to-date",
              "quarter",
              "quarter-to-date",
              "year",
              "year-to-date",
              "lifetime"
            ]
          },
          "brokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "absoluteDrawdown": {
            "$ref": "#/components/schemas/Amount"
          },
          "relativeDrawdown": {
            "$ref": "#/components/schemas/Amount"
          },
          "absoluteProfit": {
            "$ref": "#/components/schemas/Amount"
          },
          "relativeProfit": {
            "$ref": "#/components/schemas/Amount"
          },
          "exceededThresholdType": {
            "type": "string",
            "enum": [
              "drawdown",
              "profit"
            ]
          },
          "absoluteDrawdownThreshold": {
            "$ref": "#/components/schemas/Amount"
          },
          "relativeDrawdownThreshold": {
            "$ref": "#/components/schemas/Amount"
          },
          "absoluteProfitThreshold": {
            "$ref": "#/components/schemas/Amount"
          },
          "relativeProfitThreshold": {
            "$ref": "#/components/schemas/Amount"
          }
        },
        "required": [
          "sequenceNumber",
          "accountId",
          "trackerId",
          "startBrokerTime",
          "period",
          "brokerTime",
          "absoluteDrawdown",
          "relativeDrawdown",
          "absoluteProfit",
          "relativeProfit",
          "exceededThresholdType"
        ],
        "description": "MetaApi TrackerEvent (https://metaapi.cloud/docs/risk-management/restApi/api/getTrackerEvents/)"
      },
      "PeriodStatistics": {
        "type": "object",
        "properties": {
          "startBrokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "endBrokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "period": {
            "type": "string",
            "enum": [
              "day",
              "date",
              "week",
              "week-to-date",
              "month",
              "month-to-date",
              "quarter",
              "quarter-to-date",
              "year",
              "year-to-date",
              "lifetime"
            ]
          },
          "initialBalance": {
            "$ref": "#/components/schemas/Amount"
          },
          "maxDrawdownTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "maxAbsoluteDrawdown": {
            "$ref": "#/components/schemas/Amount"
          },
          "maxRelativeDrawdown": {
            "$ref": "#/components/schemas/Amount"
          },
          "maxProfitTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "maxAbsoluteProfit": {
            "$ref": "#/components/schemas/Amount"
          },
          "maxRelativeProfit": {
            "$ref": "#/components/schemas/Amount"
          },
          "thresholdExceeded": {
            "type": "boolean"
          },
          "exceededThresholdType": {
            "type": "string",
            "enum": [
              "drawdown",
              "profit"
            ]
          },
          "balanceAdjustment": {
            "$ref": "#/components/schemas/Amount"
          },
          "tradeDayCount": {
            "type": "integer"
          }
        },
        "required": [
          "startBrokerTime",
          "period",
          "initialBalance",
          "thresholdExceeded"
        ],
        "description": "MetaApi PeriodStatistics (https://metaapi.cloud/docs/risk-management/models/periodStatistics/)"
      },
      "EquityChartItem": {
        "type": "object",
        "properties": {
          "startBrokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "endBrokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "averageBalance": {
            "$ref": "#/components/schemas/Amount"
          },
          "minBalance": {
            "$ref": "#/components/schemas/Amount"
          },
          "maxBalance": {
            "$ref": "#/components/schemas/Amount"
          },
          "averageEquity": {
            "$ref": "#/components/schemas/Amount"
          },
          "minEquity": {
            "$ref": "#/components/schemas/Amount"
          },
          "maxEquity": {
            "$ref": "#/components/schemas/Amount"
          },
          "startBalance": {
            "$ref": "#/components/schemas/Amount"
          },
          "startEquity": {
            "$ref": "#/components/schemas/Amount"
          },
          "lastBalance": {
            "$ref": "#/components/schemas/Amount"
          },
          "lastEquity": {
            "$ref": "#/components/schemas/Amount"
          },
          "brokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "realTime's open hour only: the latest input time seen for the account, up to which the averages run"
          },
          "duration": {
            "type": "integer",
            "minimum": 0,
            "description": "realTime's open hour only: milliseconds the averages weigh (from the hour's first observation to brokerTime)"
          },
          "equitySum": {
            "type": "number",
            "description": "realTime's open hour only: Σ equity × milliseconds held over duration (averageEquity = equitySum / duration), which MetaApi's SDKs continue from"
          },
          "balanceSum": {
            "type": "number",
            "description": "realTime's open hour only: Σ balance × milliseconds held over duration"
          }
        },
        "required": [
          "startBrokerTime",
          "endBrokerTime",
          "averageBalance",
          "minBalance",
          "maxBalance",
          "averageEquity",
          "minEquity",
          "maxEquity",
          "startBalance",
          "startEquity",
          "lastBalance",
          "lastEquity"
        ],
        "description": "MetaApi EquityChartItem (https://metaapi.cloud/docs/risk-management/restApi/api/getEquityChart/): one broker-time hour"
      },
      "NewAccount": {
        "type": "object",
        "properties": {
          "login": {
            "type": "integer",
            "minimum": 1
          },
          "server": {
            "type": "string"
          },
          "platform": {
            "type": "string",
            "enum": [
              "mt4",
              "mt5"
            ]
          }
        },
        "required": [
          "login",
          "server",
          "platform"
        ]
      },
      "Account": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string",
            "description": "server:login"
          },
          "server": {
            "type": "string"
          },
          "login": {
            "type": "integer"
          },
          "platform": {
            "type": "string",
            "enum": [
              "mt4",
              "mt5"
            ]
          },
          "currency": {
            "type": "string"
          },
          "connected": {
            "type": "boolean"
          },
          "equity": {
            "$ref": "#/components/schemas/Amount"
          },
          "balance": {
            "$ref": "#/components/schemas/Amount"
          },
          "lastSeenBrokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "reconciliationDrift": {
            "$ref": "#/components/schemas/Amount"
          },
          "enforcementState": {
            "type": "string"
          },
          "lastConnectedAt": {
            "type": "string",
            "format": "date-time",
            "description": "When a terminal session of the account last opened (UTC)"
          },
          "lastDisconnectedAt": {
            "type": "string",
            "format": "date-time",
            "description": "When the account last went from connected to disconnected (UTC)"
          },
          "error": {
            "$ref": "#/components/schemas/AccountError"
          }
        },
        "required": [
          "id",
          "server",
          "login",
          "connected"
        ]
      },
      "ChallengeDefinition": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "description": {
            "type": "string"
          },
          "account": {
            "type": "string"
          },
          "initialCapital": {
            "$ref": "#/components/schemas/Amount"
          },
          "startTime": {
            "type": [
              "string",
              "integer"
            ]
          },
          "dayReset": {
            "type": "object"
          },
          "brokerClock": {
            "type": "object"
          },
          "phases": {
            "type": "array",
            "items": {
              "type": "object"
            }
          },
          "enforcement": {
            "type": "object"
          }
        },
        "required": [
          "id",
          "account",
          "phases"
        ],
        "description": "See deploy/challenge-templates/README.md"
      },
      "NewChallenge": {
        "type": "object",
        "description": "Either a template name with the fields to fill in (id optional; account from the path), or a full challenge definition. Fields given override the template's.",
        "properties": {
          "template": {
            "type": "string"
          },
          "id": {
            "type": "string"
          },
          "initialCapital": {
            "$ref": "#/components/schemas/Amount"
          },
          "startTime": {
            "type": [
              "string",
              "integer"
            ]
          },
          "brokerClock": {
            "type": "object"
          },
          "phases": {
            "type": "array"
          }
        }
      },
      "RuleBreach": {
        "type": "object",
        "properties": {
          "rule": {
            "type": "string"
          },
          "brokerTime": {
            "type": "integer",
            "description": "Broker time in milliseconds since 1970 (risk-core challenge and competition types)"
          },
          "value": {
            "$ref": "#/components/schemas/Amount"
          },
          "limit": {
            "$ref": "#/components/schemas/Amount"
          },
          "isFatal": {
            "type": "boolean"
          },
          "floor": {
            "$ref": "#/components/schemas/Amount"
          },
          "equity": {
            "$ref": "#/components/schemas/Amount"
          }
        },
        "required": [
          "rule",
          "brokerTime",
          "value",
          "limit",
          "isFatal"
        ]
      },
      "RuleProgress": {
        "type": "object",
        "properties": {
          "rule": {
            "type": "string"
          },
          "value": {
            "$ref": "#/components/schemas/Amount"
          },
          "limit": {
            "$ref": "#/components/schemas/Amount"
          },
          "headroom": {
            "$ref": "#/components/schemas/Amount"
          },
          "status": {
            "type": "string",
            "enum": [
              "satisfied",
              "pending",
              "breached"
            ]
          },
          "floor": {
            "$ref": "#/components/schemas/Amount"
          }
        },
        "required": [
          "rule",
          "value",
          "limit",
          "headroom",
          "status"
        ]
      },
      "ChallengeProgress": {
        "type": "object",
        "properties": {
          "challengeID": {
            "type": "string"
          },
          "account": {
            "type": "string"
          },
          "status": {
            "type": "string",
            "enum": [
              "notStarted",
              "active",
              "passed",
              "failed"
            ]
          },
          "phase": {
            "type": "integer"
          },
          "phaseName": {
            "type": "string"
          },
          "phaseStartTime": {
            "type": "integer",
            "description": "Broker time in milliseconds since 1970 (risk-core challenge and competition types)"
          },
          "decidedAt": {
            "type": "integer",
            "description": "Broker time in milliseconds since 1970 (risk-core challenge and competition types)"
          },
          "failure": {
            "$ref": "#/components/schemas/RuleBreach"
          },
          "initialCapital": {
            "$ref": "#/components/schemas/Amount"
          },
          "balance": {
            "$ref": "#/components/schemas/Amount"
          },
          "equity": {
            "$ref": "#/components/schemas/Amount"
          },
          "tradingDayStart": {
            "type": "integer",
            "description": "Broker time in milliseconds since 1970 (risk-core challenge and competition types)"
          },
          "rules": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/RuleProgress"
            }
          }
        },
        "required": [
          "challengeID",
          "account",
          "status",
          "phase",
          "phaseName",
          "initialCapital",
          "balance",
          "equity",
          "rules"
        ],
        "description": "Live status with per-rule progress"
      },
      "Challenge": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "accountId": {
            "type": "string"
          },
          "definition": {
            "$ref": "#/components/schemas/ChallengeDefinition"
          },
          "progress": {
            "$ref": "#/components/schemas/ChallengeProgress"
          }
        },
        "required": [
          "id",
          "accountId",
          "definition"
        ]
      },
      "ChallengeEvent": {
        "type": "object",
        "properties": {
          "sequenceNumber": {
            "type": "integer"
          },
          "kind": {
            "type": "string",
            "enum": [
              "phaseStarted",
              "phasePassed",
              "challengePassed",
              "challengeFailed",
              "ruleWarning"
            ]
          },
          "challengeID": {
            "type": "string"
          },
          "account": {
            "type": "string"
          },
          "phase": {
            "type": "integer"
          },
          "phaseName": {
            "type": "string"
          },
          "brokerTime": {
            "type": "integer",
            "description": "Broker time in milliseconds since 1970 (risk-core challenge and competition types)"
          },
          "breach": {
            "$ref": "#/components/schemas/RuleBreach"
          },
          "initialCapital": {
            "$ref": "#/components/schemas/Amount"
          },
          "enforcement": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        },
        "required": [
          "kind",
          "challengeID",
          "account",
          "phase",
          "phaseName",
          "brokerTime"
        ]
      },
      "CompetitionDefinition": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "description": {
            "type": "string"
          },
          "accounts": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "startTime": {
            "type": [
              "string",
              "integer"
            ]
          },
          "endTime": {
            "type": [
              "string",
              "integer"
            ]
          },
          "metric": {
            "type": "string",
            "enum": [
              "gainPercent",
              "absoluteProfit",
              "gainToMaxDrawdown"
            ]
          },
          "rules": {
            "type": "object"
          },
          "dayReset": {
            "type": "object"
          },
          "brokerClock": {
            "type": "object"
          },
          "enforcement": {
            "type": "object"
          },
          "minimumDrawdownPercent": {
            "$ref": "#/components/schemas/Amount"
          }
        },
        "required": [
          "accounts",
          "startTime",
          "endTime",
          "metric"
        ]
      },
      "Competition": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "accounts": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "definition": {
            "$ref": "#/components/schemas/CompetitionDefinition"
          }
        },
        "required": [
          "id",
          "accounts",
          "definition"
        ]
      },
      "LeaderboardEntry": {
        "type": "object",
        "properties": {
          "rank": {
            "type": "integer"
          },
          "account": {
            "type": "string"
          },
          "value": {
            "$ref": "#/components/schemas/Amount"
          },
          "gainPercent": {
            "$ref": "#/components/schemas/Amount"
          },
          "profit": {
            "$ref": "#/components/schemas/Amount"
          },
          "maxDrawdownPercent": {
            "$ref": "#/components/schemas/Amount"
          },
          "initialCapital": {
            "$ref": "#/components/schemas/Amount"
          },
          "equity": {
            "$ref": "#/components/schemas/Amount"
          },
          "disqualification": {
            "$ref": "#/components/schemas/RuleBreach"
          }
        },
        "required": [
          "account"
        ]
      },
      "CompetitionEvent": {
        "type": "object",
        "properties": {
          "sequenceNumber": {
            "type": "integer"
          },
          "kind": {
            "type": "string",
            "enum": [
              "started",
              "rankChanged",
              "disqualified",
              "finished"
            ]
          },
          "competitionID": {
            "type": "string"
          },
          "brokerTime": {
            "type": "integer",
            "description": "Broker time in milliseconds since 1970 (risk-core challenge and competition types)"
          },
          "account": {
            "type": "string"
          },
          "previousRank": {
            "type": "integer"
          },
          "rank": {
            "type": "integer"
          },
          "value": {
            "$ref": "#/components/schemas/Amount"
          },
          "breach": {
            "$ref": "#/components/schemas/RuleBreach"
          },
          "enforcement": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        },
        "required": [
          "kind",
          "competitionID",
          "brokerTime"
        ]
      },
      "EquityFrame": {
        "type": "object",
        "properties": {
          "accountId": {
            "type": "string"
          },
          "brokerTime": {
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}$",
            "description": "Broker time, YYYY-MM-DD HH:mm:ss.SSS"
          },
          "balance": {
            "$ref": "#/components/schemas/Amount"
          },
          "credit": {
            "$ref": "#/components/schemas/Amount"
          },
          "equity": {
            "$ref": "#/components/schemas/Amount"
          },
          "floating": {
            "$ref": "#/components/schemas/Amount"
          }
        },
        "required": [
          "accountId",
          "brokerTime",
          "balance",
          "credit",
          "equity",
          "floating"
        ],
        "description": "The data of one `equity` event of an equity stream"
      },
      "NewToken": {
        "type": "object",
        "properties": {
          "name": {
            "type": "string"
          },
          "accounts": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "readOnly": {
            "type": "boolean"
          }
        },
        "required": [
          "name"
        ]
      },
      "Token": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "admin": {
            "type": "boolean"
          },
          "readOnly": {
            "type": "boolean"
          },
          "accounts": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        },
        "required": [
          "id",
          "name",
          "admin",
          "readOnly"
        ]
      },
      "CreatedToken": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "token": {
            "type": "string",
            "description": "The auth-token value; shown only now"
          },
          "name": {
            "type": "string"
          },
          "readOnly": {
            "type": "boolean"
          },
          "accounts": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        },
        "required": [
          "id",
          "token",
          "name",
          "readOnly"
        ]
      },
      "WebhookFilter": {
        "type": "object",
        "description": "Which events a webhook receives; an absent list matches anything",
        "properties": {
          "kinds": {
            "type": "array",
            "items": {
              "type": "string",
              "enum": [
                "tracker",
                "challenge",
                "competition"
              ]
            }
          },
          "accounts": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Account ids; events without an account never match"
          },
          "subjects": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Tracker, challenge or competition ids"
          },
          "types": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Event types (drawdown, challengeFailed, …)"
          }
        }
      },
      "NewWebhook": {
        "type": "object",
        "properties": {
          "url": {
            "type": "string",
            "description": "http or https URL with a host"
          },
          "secret": {
            "type": "string",
            "description": "HMAC-SHA256 signing key; a random 32-byte hex key when absent"
          },
          "filter": {
            "$ref": "#/components/schemas/WebhookFilter"
          }
        },
        "required": [
          "url"
        ]
      },
      "CreatedWebhook": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "secret": {
            "type": "string",
            "description": "The signing key; shown only now"
          }
        },
        "required": [
          "id",
          "secret"
        ]
      },
      "Webhook": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "url": {
            "type": "string"
          },
          "filter": {
            "$ref": "#/components/schemas/WebhookFilter"
          },
          "createdAt": {
            "type": "string",
            "format": "date-time"
          }
        },
        "required": [
          "id",
          "url",
          "filter",
          "createdAt"
        ]
      },
      "TerminalKey": {
        "type": "object",
        "required": [
          "publicKey",
          "allowed",
          "listedAccounts"
        ],
        "properties": {
          "publicKey": {
            "type": "string",
            "description": "The terminal's CURVE public key (Z85, 40 characters)"
          },
          "allowed": {
            "type": "boolean",
            "description": "Whether the key is on the allow-list now (a removed key keeps its binding)"
          },
          "listedAccounts": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Accounts (server:login) the allow-list names after the key; empty: the key is bound to one account"
          },
          "boundAccount": {
            "type": [
              "string",
              "null"
            ],
            "description": "The account the key is bound to (its first HELLO's, or set here); absent while unbound"
          }
        }
      },
      "TerminalKeyBinding": {
        "type": "object",
        "required": [
          "publicKey",
          "account"
        ],
        "properties": {
          "publicKey": {
            "type": "string",
            "description": "The key (Z85, 40 characters)"
          },
          "account": {
            "type": [
              "string",
              "null"
            ],
            "description": "The account (server:login) the key may speak for; null unbinds the key, so its next HELLO binds it"
          }
        }
      }
    },
    "securitySchemes": {
      "authToken": {
        "type": "apiKey",
        "in": "header",
        "name": "auth-token"
      }
    }
  }
}
"""##
}
