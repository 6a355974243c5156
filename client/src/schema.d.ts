// Generated from openapi.json by `npm run openapi`. Do not edit.

export interface paths {
    "/api/containers/{env}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The state of the environment's agent container. */
        get: operations["getContainerStatus"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/containers/{env}/start": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Creates the agent container if needed and starts it. Calling it again is harmless. */
        post: operations["startContainer"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/containers/{env}/stop": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Stops the agent container; its volumes stay. Calling it again is harmless. */
        post: operations["stopContainer"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness: the process answers. Open and never rate limited. */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: the Docker engine answers a ping. */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * @description Docker's state of the container, or `missing` when it does not exist
         * @enum {string}
         */
        ContainerStateName: "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead" | "missing";
        ContainerStatusDto: {
            /** @description ISO time of its creation, or null when it does not exist. */
            createdAt: string | null;
            /** @description The environment, e.g. `dev`. */
            env: string;
            /** @description Whether the container exists at all. */
            exists: boolean;
            /** @description The image the container was created from, or the configured image when it does not exist. */
            image: string;
            /** @description The container's name, e.g. `claude-agent-dev`. */
            name: string;
            /** @description Whether it is running and can take executions. */
            running: boolean;
            /** @description ISO time of the last start, or null. */
            startedAt: string | null;
            /** @description Docker's state of the container, or `missing` when it does not exist */
            state: components["schemas"]["ContainerStateName"];
        };
        /** @enum {string} */
        ErrorCode: "VALIDATION_FAILED" | "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND" | "ENV_NOT_FOUND" | "METHOD_NOT_ALLOWED" | "PAYLOAD_TOO_LARGE" | "UNSUPPORTED_MEDIA_TYPE" | "RATE_LIMITED" | "DOCKER_UNAVAILABLE" | "DOCKER_ERROR" | "CONTAINER_UNAVAILABLE" | "AGENT_IMAGE_MISSING" | "INTERNAL_ERROR";
        ErrorResponseDto: {
            code: components["schemas"]["ErrorCode"];
            /** @description For `VALIDATION_FAILED`: one line per rejected field. */
            details?: string[];
            /** @description A readable explanation, safe to show to a user. */
            message: string;
            /** @description The request's id, also sent as the `x-request-id` header; quote it when reporting a problem. */
            requestId: string;
            /** @description The HTTP status, repeated in the body. */
            statusCode: number;
        };
        HealthDto: {
            /** @description Always `ok`. */
            status: string;
        };
        ReadinessDto: {
            /** @description The Docker engine answered a ping. */
            docker: string;
            /** @description Always `ok` (a 503 is sent otherwise). */
            status: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getContainerStatus: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A configured environment, e.g. `dev` */
                env: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ContainerStatusDto"];
                };
            };
            /** @description Missing or invalid bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description ENV_NOT_FOUND: not a configured environment */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Rate limited; see the Retry-After header */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description DOCKER_UNAVAILABLE, CONTAINER_UNAVAILABLE or AGENT_IMAGE_MISSING */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    startContainer: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A configured environment, e.g. `dev` */
                env: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ContainerStatusDto"];
                };
            };
            /** @description Missing or invalid bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description ENV_NOT_FOUND: not a configured environment */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Rate limited; see the Retry-After header */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description DOCKER_UNAVAILABLE, CONTAINER_UNAVAILABLE or AGENT_IMAGE_MISSING */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    stopContainer: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A configured environment, e.g. `dev` */
                env: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ContainerStatusDto"];
                };
            };
            /** @description Missing or invalid bearer token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description ENV_NOT_FOUND: not a configured environment */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description Rate limited; see the Retry-After header */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
            /** @description DOCKER_UNAVAILABLE, CONTAINER_UNAVAILABLE or AGENT_IMAGE_MISSING */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthDto"];
                };
            };
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReadinessDto"];
                };
            };
            /** @description DOCKER_UNAVAILABLE */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponseDto"];
                };
            };
        };
    };
}
