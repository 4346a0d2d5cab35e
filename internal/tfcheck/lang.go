package tfcheck

// The Terraform language's own blocks (not a provider's), from the Terraform
// language documentation (developer.hashicorp.com/terraform/language).

func arg() *Field           { return &Field{} }
func req() *Field           { return &Field{Required: true} }
func blk(b Block) *Field    { return &Field{Block: b} }
func reqBlk(b Block) *Field { return &Field{Required: true, Block: b} }

var conditionBlock = Block{"condition": req(), "error_message": req()}

var variableBlock = Block{
	"type": arg(), "default": arg(), "description": arg(), "sensitive": arg(),
	"nullable": arg(), "ephemeral": arg(),
	"validation": blk(conditionBlock),
}

var outputBlock = Block{
	"value": req(), "description": arg(), "sensitive": arg(), "depends_on": arg(), "ephemeral": arg(),
	"precondition": blk(conditionBlock),
}

// resourceMeta are the meta-arguments every resource block accepts.
var resourceMeta = Block{
	"count": arg(), "for_each": arg(), "depends_on": arg(), "provider": arg(),
	"lifecycle": blk(Block{
		"create_before_destroy": arg(), "prevent_destroy": arg(), "ignore_changes": arg(),
		"replace_triggered_by": arg(),
		"precondition":         blk(conditionBlock), "postcondition": blk(conditionBlock),
	}),
}

// dataMeta are the meta-arguments every data block accepts.
var dataMeta = Block{
	"count": arg(), "for_each": arg(), "depends_on": arg(), "provider": arg(),
	"lifecycle": blk(Block{"precondition": blk(conditionBlock), "postcondition": blk(conditionBlock)}),
}

// functions are Terraform's built-in functions (Terraform 1.11).
var functions = setOf(
	"abs", "abspath", "alltrue", "anytrue", "base64decode", "base64encode", "base64gzip", "base64sha256",
	"base64sha512", "basename", "bcrypt", "can", "ceil", "chomp", "chunklist", "cidrhost", "cidrnetmask",
	"cidrsubnet", "cidrsubnets", "coalesce", "coalescelist", "compact", "concat", "contains", "csvdecode",
	"dirname", "distinct", "element", "endswith", "ephemeralasnull", "file", "filebase64", "filebase64sha256",
	"filebase64sha512", "fileexists", "filemd5", "fileset", "filesha1", "filesha256", "filesha512", "flatten",
	"floor", "format", "formatdate", "formatlist", "indent", "index", "issensitive", "join", "jsondecode",
	"jsonencode", "keys", "length", "log", "lookup", "lower", "matchkeys", "max", "md5", "merge", "min",
	"nonsensitive", "one", "parseint", "pathexpand", "plantimestamp", "pow", "range", "regex", "regexall",
	"replace", "reverse", "rsadecrypt", "sensitive", "setintersection", "setproduct", "setsubtract",
	"setunion", "sha1", "sha256", "sha512", "signum", "slice", "sort", "split", "startswith", "strcontains",
	"strrev", "substr", "sum", "templatefile", "templatestring", "textdecodebase64", "textencodebase64",
	"timeadd", "timecmp", "timestamp", "title", "tobool", "tolist", "tomap", "tonumber", "toset", "tostring",
	"transpose", "trim", "trimprefix", "trimspace", "trimsuffix", "try", "type", "upper", "urldecode",
	"urlencode", "uuid", "uuidv5", "values", "yamldecode", "yamlencode", "zipmap",
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
