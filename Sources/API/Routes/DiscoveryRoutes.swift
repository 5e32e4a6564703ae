import Hummingbird

/// How MetaApi's SDKs find the agent. They ask MetaApi's provisioning API,
/// `https://mt-provisioning-api-v1.{domain}`, for its regions (`GET /users/current/regions`) and
/// for the client API's domain (`GET /users/current/servers/mt-client-api`), then call
/// `https://risk-management-api-v1.{region}.{domain}`. The agent answers both, so an SDK program
/// needs only its `domain` option changed (and DNS names for both hosts pointing at the agent).
public struct DiscoveryConfiguration: Sendable, Hashable {
    /// The domain the answers name; nil names the domain the client asked for (its `Host`
    /// without the `mt-provisioning-api-v1.` label and the port).
    public var domain: String?
    /// The one region listed.
    public var region: String

    /// A configuration; the defaults answer with the client's own domain and region `tidemark`.
    public init(domain: String? = nil, region: String = "tidemark") {
        self.domain = domain
        self.region = region
    }

    /// The first label of MetaApi's provisioning host, where the SDKs send discovery requests.
    public static let provisioningLabel = "mt-provisioning-api-v1"

    /// The domain to name for a request that arrived with `host` (a `Host` header or HTTP/2
    /// authority, with or without a port).
    public func domain(forHost host: String?) -> String? {
        if let domain { return domain }
        guard var host, !host.isEmpty else { return nil }
        if host.hasPrefix("[") { return nil }   // an IPv6 literal names no domain
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        let prefix = Self.provisioningLabel + "."
        if host.lowercased().hasPrefix(prefix) { host = String(host.dropFirst(prefix.count)) }
        return host.isEmpty ? nil : host
    }
}

extension TidemarkAPI {
    /// MetaApi's provisioning discovery, as the SDKs call it (metaapi-cloud-sdk 29.1,
    /// `risk_management/clients/domain_client.py`; https://metaapi.cloud/docs/provisioning/):
    /// - `GET /users/current/regions`: a JSON array of region names (`["tidemark"]`);
    /// - `GET /users/current/servers/mt-client-api`: `{"hostname": "mt-client-api-v1", "domain": …}`.
    /// Any valid token may read them.
    func addDiscoveryRoutes(to group: RouterGroup<APIRequestContext>) {
        let discovery = configuration.discovery
        group.get("regions") { _, context in
            _ = try context.requirePrincipal()
            return try APIJSON.response([discovery.region])
        }
        group.get("servers/mt-client-api") { request, context in
            _ = try context.requirePrincipal()
            guard let domain = discovery.domain(forHost: request.head.authority) else {
                throw APIError.validation("No domain to name: the request has no Host header and the agent has no apiDomain",
                                          details: [ValidationDetail(parameter: "Host", message: "Expected mt-provisioning-api-v1.<domain>")])
            }
            return try APIJSON.response(["hostname": "mt-client-api-v1", "domain": domain])
        }
    }
}
