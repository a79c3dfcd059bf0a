<?php
// Echo application for php-fpm: see docs/echo-contract.md.
$status = isset($_SERVER['ECHO_STATUS']) ? $_SERVER['ECHO_STATUS'] . ' Echo' : '200 OK';
// The CGI SAPI turns "Status:" into the response status line it sends.
header('Status: ' . $status);
header('Content-Type: text/plain');
header('X-Fcgi-Echo: 1');
if (isset($_SERVER['ECHO_STDERR'])) {
    // Type 4 = the SAPI logger: in php-fpm that is FCGI_STDERR of this request.
    error_log($_SERVER['ECHO_STDERR'], 4);
}
$body = file_get_contents('php://input');
$out = "FCGI-ECHO/1\n";
foreach ($_SERVER as $name => $value) {
    if (is_string($name) && strncmp($name, 'ECHO_', 5) === 0) {
        $out .= "param $name=$value\n";
    }
}
$out .= 'stdin ' . strlen($body) . "\n" . $body;
echo $out;
if (isset($_SERVER['ECHO_BIG'])) {
    $n = (int)$_SERVER['ECHO_BIG'];
    for ($done = 0; $done < $n; $done += 65536) {
        echo str_repeat('x', min(65536, $n - $done));
    }
}
