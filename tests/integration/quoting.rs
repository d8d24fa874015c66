//! Strings that break YAML when unquoted (`: # " ' {{ }}`, newlines) come out of
//! generated files as the same strings when parsed back.

use crate::support::Project;

#[test]
fn yaml_breaking_values_parse_back_unchanged() {
    let nasty = [
        "a: b",
        "# not a comment",
        "say \"hi\"",
        "it's",
        "{{ template }}",
        "line one\nline two",
        "- item",
        "*alias &anchor !tag",
        "yes",
        "",
        "tab\there",
        "unicode ✓ — ok",
    ];
    let env: Vec<String> = nasty
        .iter()
        .enumerate()
        .map(|(i, v)| format!("V{i} = {}", toml::Value::String(v.to_string())))
        .collect();
    let command: Vec<String> = nasty
        .iter()
        .map(|v| toml::Value::String(v.to_string()).to_string())
        .collect();
    let manifest = format!(
        "[project]\nname = \"q\"\nprofile = \"minimal\"\n\n[[service]]\nname = \"api\"\nimage = \"ghcr.io/acme/api:1.0.0\"\nport = 8080\ncommand = [{}]\n[service.env]\n{}\n",
        command.join(", "),
        env.join("\n")
    );
    let p = Project::with_manifest(&manifest);
    p.generate();
    let compose: serde_json::Value = serde_saphyr::from_str(&p.read("compose.yaml")).unwrap();
    let api = &compose["services"]["api"];
    for (i, v) in nasty.iter().enumerate() {
        assert_eq!(
            api["environment"][format!("V{i}")],
            serde_json::json!(v),
            "env V{i}"
        );
        assert_eq!(api["command"][i], serde_json::json!(v), "command[{i}]");
    }
}
