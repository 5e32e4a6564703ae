/// The OpenAPI 3.1 document of the API, served at `/openapi.json`. Generated from
/// protocol/openapi.json by protocol/embed-openapi.sh (a test checks the two are equal).
enum OpenAPIDocument {
    static let json = #"""
{}
"""#
}
